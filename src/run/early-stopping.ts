/**
 * Early stopping (`train.early_stopping`), as Lightning's EarlyStopping callback decides it: after each
 * epoch, the monitored column of metrics.csv improves when it beats the best so far by more than
 * `min_delta` (higher for mode max, lower for min); training stops once `patience` epochs in a row
 * have not improved. A pure function of the rows, so a resumed run decides exactly as an uninterrupted
 * one (its rows up to the checkpoint are kept).
 */
import type {EarlyStoppingSpec} from '../schema/recipe.js'
import type {MetricsRow} from './metrics-file.js'

/** Why training stops after the last of `rows`, or undefined while it goes on (or without early stopping). */
export function earlyStop(spec: EarlyStoppingSpec | undefined, rows: Pick<MetricsRow, 'epoch' | EarlyStoppingSpec['metric']>[]): string | undefined {
  if (!spec || rows.length === 0) return undefined
  const sign = spec.mode === 'max' ? 1 : -1
  let best = -Infinity
  let bestEpoch = 0
  let wait = 0
  for (const row of rows) {
    const value = sign * row[spec.metric]
    if (value - spec.min_delta > best) {
      best = value
      bestEpoch = row.epoch
      wait = 0
    } else {
      wait++
    }
  }
  if (wait < spec.patience) return undefined
  const by = spec.min_delta > 0 ? ` by more than ${spec.min_delta}` : ''
  return `${spec.metric} did not ${spec.mode === 'max' ? 'rise' : 'fall'}${by} for ${wait} epoch${wait === 1 ? '' : 's'} (patience ${spec.patience}; best ${sign * best} after epoch ${bestEpoch})`
}
