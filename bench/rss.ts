/** Samples resident memory while `fn` runs; returns its result and the peak RSS in MB. */
export async function withPeakRss<T>(
  fn: () => Promise<T>,
  everyMs = 50,
): Promise<{ result: T; peakRssMb: number; seconds: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, everyMs);
  const t0 = process.hrtime.bigint();
  try {
    const result = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, peakRssMb: peak / 2 ** 20, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
  } finally {
    clearInterval(timer);
  }
}
