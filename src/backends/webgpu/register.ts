/**
 * The project's WGSL kernels for the `webgpu` backend, registered when the backend loads.
 * MIXTURE_WEBGPU_FUSED=0 leaves out the ones that only save time (Adam, BatchNorm, LayerNorm, the
 * conv filter gradient, the column sums of bias gradients, the large products; MIXTURE_WEBGPU_CONV_FILTER=0 that one alone) so
 * that the tfjs composites can be compared; dropout and the Tile gradient are needed to run at all
 * (without them the dropout fallback reads back to the CPU, and a tiled parameter's gradient records
 * one slice per repetition); an identity `Transpose` shares its input's buffer.
 */
import './dropout.js'
import './metrics.js'
import './graph.js'
import {registerTileGradient} from '../../ops/tile-grad.js'
import {installIdentityTranspose} from './transpose.js'

registerTileGradient()
installIdentityTranspose()
if (process.env.MIXTURE_WEBGPU_FUSED !== '0') {
  await import('./adam.js')
  await import('./batchnorm.js')
  await import('./layernorm.js')
  await import('./activation.js')
  await import('./xent.js')
  if (process.env.MIXTURE_WEBGPU_ATTENTION !== '0') (await import('./matmul.js')).installStridedMatMul()
  const {installConvInputChoice} = await import('./conv_input.js')
  installConvInputChoice()
  const {installColumnSum} = await import('./colsum.js')
  installColumnSum()
  const {installGemm} = await import('./gemm.js')
  installGemm()
  if (process.env.MIXTURE_WEBGPU_CONV_FILTER !== '0') {
    const {installConvFilterKernel} = await import('./conv_filter.js')
    installConvFilterKernel()
  }
}
