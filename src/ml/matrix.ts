import { z } from 'zod';

/**
 * A dense row-major matrix: row `i`, column `j` lives at `data[i * nCols + j]`.
 *
 * Why flat rather than one Float64Array per row: a million rows as separate typed arrays cost a
 * million small heap objects (and GC pressure); one contiguous buffer is ~160 MB for 1M x 20 and
 * keeps the training loop cache-friendly.
 */
export const MatrixSchema = z
  .object({
    data: z.instanceof(Float64Array),
    nRows: z.number().int().nonnegative(),
    nCols: z.number().int().nonnegative(),
  })
  .refine((m) => m.data.length === m.nRows * m.nCols, {
    message: 'matrix data length must equal nRows * nCols',
  });
export type Matrix = z.infer<typeof MatrixSchema>;

/** Builds a Matrix from row arrays (convenient in tests and small callers). */
export function matrixFromRows(rows: readonly ArrayLike<number>[], nCols?: number): Matrix {
  const cols = nCols ?? (rows.length > 0 ? rows[0].length : 0);
  const data = new Float64Array(rows.length * cols);
  rows.forEach((row, i) => {
    if (row.length !== cols) throw new RangeError(`row ${i} has ${row.length} values, expected ${cols}`);
    for (let j = 0; j < cols; j++) data[i * cols + j] = row[j];
  });
  return { data, nRows: rows.length, nCols: cols };
}

/** Returns row `i` as a view (no copy) into the matrix buffer. */
export function matrixRow(m: Matrix, i: number): Float64Array {
  return m.data.subarray(i * m.nCols, (i + 1) * m.nCols);
}
