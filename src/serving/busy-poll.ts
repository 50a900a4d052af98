/**
 * Optional busy-polling of the event loop while requests keep arriving (`busyPollMs`, off by default).
 *
 * Between two requests an idle Node server sleeps in epoll, and the next request has to wake it. On a
 * small VM that wake-up is where much of the p99 tail came from in a kernel scheduler trace: the woken
 * event loop was placed on a CPU still busy with other work and waited up to a scheduler tick (4 ms at
 * HZ=250), or its idle vCPU took milliseconds to resume (src/serving/README.md, Performance). While
 * setImmediate callbacks are pending, libuv polls with a zero timeout instead of sleeping, so a request
 * that arrives within the window after the last one is read at the next turn of the loop, with no
 * wake-up at all. The price is CPU: the loop spins for the whole window after every request, so with
 * a 2 ms window it keeps one core fully busy from about 500 requests a second.
 */
import { performance } from 'node:perf_hooks';

/** Keeps the event loop polling for `windowMs` after each {@link BusyPoll.touch}. */
export class BusyPoll {
  private last = 0;
  private running = false;
  private stopped = false;
  private turns = 0;

  /**
   * @param windowMs how long after the last request to keep polling; 0 turns busy-polling off.
   * @param now the clock (milliseconds); tests pass their own.
   */
  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!Number.isFinite(windowMs) || windowMs < 0) {
      throw new RangeError(`busyPollMs must be a finite number >= 0, got ${windowMs}`);
    }
  }

  /** Whether the loop is being kept polling now. */
  get polling(): boolean {
    return this.running;
  }

  /** Turns of the loop spent polling so far (for tests and diagnostics). */
  get pollTurns(): number {
    return this.turns;
  }

  /** A request arrived: poll for another `windowMs` from now. */
  touch(): void {
    if (this.windowMs === 0 || this.stopped) return;
    this.last = this.now();
    if (this.running) return;
    this.running = true;
    setImmediate(this.turn);
  }

  /** Stops polling for good (server shutdown): no immediate is left to keep the process alive. */
  stop(): void {
    this.stopped = true;
  }

  private readonly turn = (): void => {
    if (this.stopped || this.now() - this.last >= this.windowMs) {
      this.running = false;
      return;
    }
    this.turns++;
    setImmediate(this.turn);
  };
}
