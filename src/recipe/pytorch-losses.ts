/**
 * The built-in training loss: `cross_entropy`, PyTorch's `CrossEntropyLoss` with
 * `train.label_smoothing` as its `label_smoothing` (ops/cross-entropy.ts: one fused kernel each way
 * where the backend has them, which also counts the correct predictions); with train.mixup, timm's
 * SoftTargetCrossEntropy of the mixed targets. A plugin file adds more
 * with `registerLoss` (README: Your own recipe).
 */
import {registerLoss} from '../registry/registry.js'
import {crossEntropy} from '../ops/cross-entropy.js'

registerLoss<Record<string, never>>({
  name: 'cross_entropy',
  summary: "PyTorch's CrossEntropyLoss: softmax cross-entropy of the labels, mean over the batch, smoothed by train.label_smoothing.",
  labelSmoothing: true,
  softTargets: true,
  schema: {type: 'object', additionalProperties: false, properties: {}},
  create: (_params, run) => (logits, labels) => crossEntropy(logits, labels, run.labelSmoothing),
})
