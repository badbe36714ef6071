/**
 * The arithmetic a run trains in (`engine.precision`): `fp32`, every value float32; `mixed16`,
 * PyTorch AMP's (`autocast(float16)` + `GradScaler`) — products and convolutions on float16
 * operands with float32 accumulation and float16 results, weights, optimizer state, normalisation
 * statistics and the loss in float32, and the loss scaled dynamically (loss-scaler.ts) so that small
 * gradients survive float16. Which backends can: backend.ts asks each (only webgpu, on an adapter
 * with `shader-f16`); a run that asks for mixed16 where it cannot be had is refused, never trained
 * in float32 instead.
 */
export const PRECISIONS = ['fp32', 'mixed16'] as const
export type Precision = (typeof PRECISIONS)[number]

/** One line for the top of a run: what `precision` computes in float16 and what stays float32. */
export function describePrecision(precision: Precision, initialScale: number): string | undefined {
  if (precision === 'fp32') return undefined
  return `precision: mixed16 — products and convolutions on float16 operands with float32 accumulation and float16 results (AMP's autocast); weights, optimizer state, normalisation statistics and the loss in float32; dynamic loss scaling from ${initialScale}`
}

/** Why a backend cannot run `mixed16`, as messages say it. */
export function mixed16Refusal(backend: string): string {
  return `engine.precision: mixed16 needs the webgpu backend on an adapter with shader-f16; the ${backend} backend computes in float32 only. Use --backend webgpu (or auto, where a GPU is present), or engine.precision: fp32`
}
