/**
 * The gradients the project registers: in place of tfjs-core's own, Tile's as one reduction and
 * Relu's through one kernel where the backend has it; and FusedConv2D's, one per input, which
 * tfjs-core leaves to its fused op (conv2d.ts: the project's convolutions compute no gradient that
 * nothing reads). tfjs keeps one gradient per kernel name for
 * every backend, so these are registered once per process, before any backend trains (by
 * backends/cpu/index.ts, which every backend loads first).
 */
import {registerConv2dGradient} from './conv2d.js'
import {registerReluGradient} from './relu-grad.js'
import {registerTileGradient} from './tile-grad.js'

export function registerOpGradients(): void {
  registerTileGradient()
  registerReluGradient()
  registerConv2dGradient()
}
