import { readWeatherCsvFile } from '../lib/domain/weather/csv.ts';
import { planReplay } from '../producers/replay/plan.ts';
import { replay } from '../producers/replay/replay.ts';
import { registerEvents } from '../lib/domain/events.ts';
import { createSchemaRegistry } from '../lib/platform/schema-registry.ts';
import { createKafka } from '../lib/platform/kafka/client.ts';
import { createProducer, sendBounded } from '../lib/platform/kafka/producer.ts';
import { benchDeployment } from './lib/deployment.ts';
import { removeDeployment } from '../lib/deployment/teardown.ts';

const { config, logger } = await benchDeployment('prof', {});
const t = () => performance.now();
try {
  let s = t();
  const rows = await readWeatherCsvFile(config.dataFile);
  console.log('csv read+parse s', ((t() - s) / 1000).toFixed(2), rows.length);
  s = t();
  const plan = planReplay(rows, {});
  console.log('plan s', ((t() - s) / 1000).toFixed(2), plan.events);
  const codec = await registerEvents(createSchemaRegistry(config), config.topics);
  s = t();
  const msgs = [];
  for (const day of plan.days) for (const o of day.observations) msgs.push({ key: o.location, value: codec.encode('observation', { ...o, sourcePosition: 'file:x:1' }), headers: { 'rainstream-source': 'replay' }, timestamp: String(Date.now()) });
  console.log('encode s', ((t() - s) / 1000).toFixed(2));
  for (const client of ['kafkajs', 'platformatic'] as const) {
    const kafka = createKafka({ kafka: { ...config.kafka, client } }, logger);
    const producer = createProducer(kafka);
    await producer.connect();
    s = t();
    for (let i = 0; i < msgs.length; i += 3000) await sendBounded(producer, config.topics.features, msgs.slice(i, i + 3000));
    console.log(client, 'send serial 3000 s', ((t() - s) / 1000).toFixed(2));
    await producer.disconnect();
  }
  if (process.env.FULL) {
    const kafka = createKafka(config, logger);
    const producer = createProducer(kafka);
    await producer.connect();
    s = t();
    await replay(rows, config.dataFile, { speed: 0, quiet: true }, { producer, codec, topics: config.topics, logger });
    console.log('replay() s', ((t() - s) / 1000).toFixed(2));
    await producer.disconnect();
  }
} finally {
  await removeDeployment(config, logger);
}
