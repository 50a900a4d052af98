import { CliError } from '../context';
import { EXIT } from '../exit-codes';

/** `--metrics-port`: absent means off; anything but a port 1-65535 is a usage error naming the value. */
export function parseMetricsPort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535)
    throw new CliError(`--metrics-port: expected a port 1-65535, got "${value}"`, EXIT.usage);
  return n;
}
