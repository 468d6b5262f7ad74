/**
 * A one-line progress display on stderr: redrawn in place on a terminal, a plain line every few seconds
 * otherwise (CI logs), so long replays show life without flooding logs.
 */
export interface Progress {
  update(done: number, detail: string): void;
  finish(done: number, detail: string): void;
}

export function createProgress(
  label: string,
  total: number,
  stream: NodeJS.WriteStream = process.stderr,
  clock: () => number = () => performance.now(),
): Progress {
  const started = clock();
  const interactive = stream.isTTY === true;
  const every = interactive ? 200 : 5_000;
  let last = -Infinity;
  const render = (done: number, detail: string): string => {
    const seconds = (clock() - started) / 1000;
    const rate = seconds > 0 ? Math.round(done / seconds) : 0;
    const share = total > 0 ? Math.min(1, done / total) : 1;
    const width = 24;
    const filled = Math.round(share * width);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    return `${label} [${bar}] ${(share * 100).toFixed(1).padStart(5)}% ${done}/${total} ${rate}/s ${detail}`;
  };
  return {
    update(done, detail) {
      const now = clock();
      if (now - last < every) return;
      last = now;
      stream.write(interactive ? `\r${render(done, detail)}\u001b[K` : `${render(done, detail)}\n`);
    },
    finish(done, detail) {
      stream.write(interactive ? `\r${render(done, detail)}\u001b[K\n` : `${render(done, detail)}\n`);
    },
  };
}
