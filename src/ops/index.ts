/**
 * Every project op with kernels, as the contract test walks them (test/ops/contract.test.ts): each
 * one's kernels against its composite on every backend present. An op file adds its contracts here.
 * Not ops in this sense: contract.ts and gradients.ts (the machinery), weight-update.ts and
 * clip-grad-norm.ts (compositions of the ops listed), metric-sums.ts (a backend's optional in-place
 * update of the running sums, checked by test/ops/metric-sums.test.ts).
 */
import type {OpContract} from './contract.js'
import {adamOps} from './adam.js'
import {adamwOps} from './adamw.js'
import {attentionOps} from './attention.js'
import {batchNormOps} from './batchnorm.js'
import {conv2dOp} from './conv2d.js'
import {crossEntropyOps} from './cross-entropy.js'
import {dropoutOp} from './dropout.js'
import {gegluOp} from './geglu.js'
import {geluOp} from './gelu.js'
import {layerNormOp} from './layernorm.js'
import {lossScaleOps, unscaleOps} from './loss-scale.js'
import {normOps} from './norm.js'
import {reluGradOp} from './relu-grad.js'
import {sgdOps} from './sgd.js'
import {softmaxOp} from './softmax.js'
import {storeOp} from './store.js'
import {stridedMatMulOps} from './strided-matmul.js'
import {tileGradOp} from './tile-grad.js'

export type {OpContract} from './contract.js'

export const OPS: OpContract[] = [
  ...normOps,
  ...batchNormOps,
  layerNormOp,
  geluOp,
  gegluOp,
  softmaxOp,
  ...stridedMatMulOps,
  ...attentionOps,
  dropoutOp,
  ...adamOps,
  ...adamwOps,
  ...sgdOps,
  ...crossEntropyOps,
  reluGradOp,
  conv2dOp,
  tileGradOp,
  ...lossScaleOps,
  ...unscaleOps,
  storeOp,
]
