import { z } from 'zod';

/** A calendar day, YYYY-MM-DD (UTC). */
export const DaySchema = z.iso.date();

/** A cycle's window of production days: from (inclusive) to `to` (exclusive), UTC. */
export const WindowSchema = z
  .object({ from: DaySchema, to: DaySchema })
  .refine((w) => w.from < w.to, { message: 'window.from must be before window.to' });
export type Window = z.infer<typeof WindowSchema>;

const DAY_MS = 86_400_000;

/** Adds whole days to a YYYY-MM-DD day. Pure; safe in workflow code. */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00.000Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

/** The days of [from, to), in order. */
export function daysOf(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d < to; d = addDays(d, 1)) out.push(d);
  return out;
}

/** The UTC day of an epoch-ms instant. */
export function dayOf(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/** The window of `days` days that ends at the start of `asOfDay` (so today's partial day is left out). */
export function windowEndingAt(asOfDay: string, days: number): Window {
  return { from: addDays(asOfDay, -days), to: asOfDay };
}
