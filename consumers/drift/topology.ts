/**
 * The drift topology in memory: partition steps feeding the week closer directly, with no Kafka, Redis or
 * ClickHouse, the way Kafka Streams' TopologyTestDriver runs a topology. Records go in per (source,
 * partition) in the order a partition would hold them; closed weeks come out; every state can be read.
 * The unit tests drive event time with it, and the drift benchmark uses it to compute what the pipeline
 * must produce. A topology watches one task (rain unless told): the shell runs one per task.
 */
import type { LabeledExample, Prediction } from '../../lib/domain/events.ts';
import {
  closableWeeks,
  closeWeek,
  DEFAULT_DRIFT_SETTINGS,
  initialCloserState,
  initialPartitionState,
  partitionStep,
  RAIN_DRIFT_TASK,
  type DriftTask,
  receivePartial,
  SOURCES,
  type CloserState,
  type DriftPartial,
  type DriftSettings,
  type DriftSource,
  type PartitionState,
  type ReferenceLookup,
  type WeekOutput,
} from './step.ts';

export class DriftTopology {
  private readonly partitionStates = new Map<string, PartitionState>();
  private closer: CloserState = initialCloserState();
  private readonly pending = new Map<string, DriftPartial[]>();
  /** Partitions that ever received a record, per side (the others hold no week back). */
  private readonly started: Record<DriftSource, Set<number>> = { predictions: new Set(), labeled: new Set() };
  readonly partials: DriftPartial[] = [];
  late = 0;
  duplicates = 0;

  private readonly referenceOf: ReferenceLookup;
  private readonly settings: DriftSettings;
  private readonly partitions: number | null;
  private readonly task: DriftTask;

  /**
   * `partitions`: how many partitions each source topic has, all holding records (what the shell learns
   * from the log); without it, a partition counts once it has been fed.
   */
  constructor(
    referenceOf: ReferenceLookup,
    settings: DriftSettings = DEFAULT_DRIFT_SETTINGS,
    partitions?: number,
    task: DriftTask = RAIN_DRIFT_TASK,
  ) {
    this.task = task;
    this.referenceOf = referenceOf;
    this.settings = settings;
    this.partitions = partitions ?? null;
  }

  /** Feeds one partition's records (in its order) and returns the weeks that closed because of them. */
  pipe(
    source: DriftSource,
    partition: number,
    events: readonly (Prediction | LabeledExample)[],
  ): WeekOutput[] {
    if (events.length > 0) this.started[source].add(partition);
    const key = `${source}|${partition}`;
    const result = partitionStep(this.partitionStates.get(key) ?? initialPartitionState(), events, {
      task: this.task,
      source,
      partition,
      referenceOf: this.referenceOf,
      graceDays: this.settings.graceDays,
    });
    this.partitionStates.set(key, result.state);
    this.late += result.late;
    this.duplicates += result.duplicates;
    return this.deliver(result.partials);
  }

  /** Hands partials to the closer (as the partials topic would) and closes every week that can close. */
  deliver(partials: readonly DriftPartial[]): WeekOutput[] {
    for (const p of partials) {
      this.partials.push(p);
      const received = receivePartial(this.closer, p);
      this.closer = received.state;
      if (!received.accepted) continue;
      const key = `${p.source}|${p.week}`;
      const list = (this.pending.get(key) ?? []).filter((q) => q.partition !== p.partition);
      this.pending.set(key, [...list, p]);
    }
    const out: WeekOutput[] = [];
    for (const side of SOURCES) {
      const expected =
        this.partitions === null
          ? [...this.started[side]].sort((a, b) => a - b)
          : Array.from({ length: this.partitions }, (_, p) => p);
      if (expected.length === 0) continue;
      for (const week of closableWeeks(this.closer, side, expected)) {
        const key = `${side}|${week}`;
        const closed = closeWeek(
          this.closer,
          side,
          week,
          this.pending.get(key) ?? [],
          this.referenceOf,
          this.settings,
          this.task,
        );
        this.pending.delete(key);
        this.closer = closed.state;
        out.push(closed.output);
      }
    }
    return out;
  }

  partitionState(source: DriftSource, partition: number): PartitionState | undefined {
    return this.partitionStates.get(`${source}|${partition}`);
  }

  closerState(): CloserState {
    return this.closer;
  }
}
