import { BusyPoll } from '../../src/serving/busy-poll';

/** One turn of the event loop: resolves after every immediate queued before it has run. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await turn();
}

describe('BusyPoll', () => {
  let now: number;
  const clock = () => now;
  beforeEach(() => {
    now = 0;
  });

  test('polls from a touch until the window has passed without one', async () => {
    const poll = new BusyPoll(5, clock);
    expect(poll.polling).toBe(false);
    poll.touch();
    expect(poll.polling).toBe(true);
    await turns(3);
    expect(poll.polling).toBe(true);
    const spent = poll.pollTurns;
    expect(spent).toBeGreaterThanOrEqual(2);
    now = 4.9;
    await turns(2);
    expect(poll.polling).toBe(true);
    expect(poll.pollTurns).toBeGreaterThan(spent);
    now = 5;
    await turns(2);
    expect(poll.polling).toBe(false);
    const stoppedAt = poll.pollTurns;
    await turns(3);
    expect(poll.pollTurns).toBe(stoppedAt);
  });

  test('a touch while polling extends the window from that touch', async () => {
    const poll = new BusyPoll(5, clock);
    poll.touch();
    now = 4;
    poll.touch();
    now = 8;
    await turns(2);
    expect(poll.polling).toBe(true);
    now = 9;
    await turns(2);
    expect(poll.polling).toBe(false);
  });

  test('a touch after the loop went back to sleep starts polling again', async () => {
    const poll = new BusyPoll(1, clock);
    poll.touch();
    now = 2;
    await turns(2);
    expect(poll.polling).toBe(false);
    const before = poll.pollTurns;
    poll.touch();
    await turns(3);
    expect(poll.polling).toBe(true);
    expect(poll.pollTurns).toBeGreaterThan(before);
    now = 3;
    await turns(2);
    expect(poll.polling).toBe(false);
  });

  test('stop() ends polling at the next turn and later touches do not restart it', async () => {
    const poll = new BusyPoll(1000, clock);
    poll.touch();
    await turns(2);
    poll.stop();
    await turns(2);
    expect(poll.polling).toBe(false);
    const stoppedAt = poll.pollTurns;
    poll.touch();
    await turns(3);
    expect(poll.polling).toBe(false);
    expect(poll.pollTurns).toBe(stoppedAt);
  });

  test('a window of 0 is off: a touch never polls', async () => {
    const poll = new BusyPoll(0, clock);
    poll.touch();
    expect(poll.polling).toBe(false);
    await turns(3);
    expect(poll.pollTurns).toBe(0);
  });

  test.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('refuses a window of %p, naming busyPollMs', (ms) => {
    expect(() => new BusyPoll(ms)).toThrow(/busyPollMs must be a finite number >= 0/);
  });
});
