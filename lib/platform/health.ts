/**
 * What a process knows about its own health: each component (a stage's consumer, the champion watcher,
 * a dependency probe) says whether it works or what it is waiting for. The host serves it as /ready
 * (consumers/host/health.ts); a component that is waiting out an outage is alive but not ready.
 */
export interface ComponentHealth {
  ready: boolean;
  /** Why not ready (the dependency being waited for, the error of the last attempt). */
  reason?: string;
  /** Epoch ms of the last change of `ready`. */
  since: number;
}

export interface HealthSnapshot {
  ready: boolean;
  components: Record<string, ComponentHealth>;
}

export interface Health {
  set(component: string, ready: boolean, reason?: string): void;
  remove(component: string): void;
  snapshot(): HealthSnapshot;
}

/** How a component reports: bound to its name, so lib code needs no registry. */
export type HealthReporter = (ready: boolean, reason?: string) => void;

export function createHealth(clock: () => number = Date.now): Health {
  const components = new Map<string, ComponentHealth>();
  return {
    set(component, ready, reason) {
      const previous = components.get(component);
      const since = previous && previous.ready === ready ? previous.since : clock();
      components.set(component, ready ? { ready, since } : { ready, reason, since });
    },
    remove(component) {
      components.delete(component);
    },
    snapshot() {
      const all = Object.fromEntries(components);
      return { ready: [...components.values()].every((c) => c.ready), components: all };
    },
  };
}

export function reporterOf(health: Health | undefined, component: string): HealthReporter {
  return (ready, reason) => health?.set(component, ready, reason);
}
