import { drainAndClose, type ShutdownTarget } from './graceful-shutdown.js';

function recorder(close: () => Promise<void> = async () => undefined) {
  const steps: string[] = [];
  const target: ShutdownTarget = {
    markDraining: () => steps.push('not ready'),
    wait: async (ms) => {
      steps.push(`wait ${ms}`);
    },
    close: async () => {
      steps.push('close');
      await close();
    },
    log: () => undefined,
  };
  return { steps, target };
}

describe('drainAndClose', () => {
  it('reports not ready first, waits the grace, then closes', async () => {
    const { steps, target } = recorder();
    await expect(drainAndClose(target, 5_000)).resolves.toBe(true);
    expect(steps).toEqual(['not ready', 'wait 5000', 'close']);
  });

  it('does not close before the grace is over', async () => {
    let release!: () => void;
    const steps: string[] = [];
    const done = drainAndClose(
      {
        markDraining: () => steps.push('not ready'),
        wait: () => new Promise<void>((r) => (release = r)),
        close: async () => {
          steps.push('close');
        },
        log: () => undefined,
      },
      1_000,
    );
    await Promise.resolve();
    expect(steps).toEqual(['not ready']);
    release();
    await done;
    expect(steps).toEqual(['not ready', 'close']);
  });

  it('skips the wait with no grace, and answers false when closing fails', async () => {
    const { steps, target } = recorder(() => Promise.reject(new Error('pool would not close')));
    await expect(drainAndClose(target, 0)).resolves.toBe(false);
    expect(steps).toEqual(['not ready', 'close']);
  });
});
