/**
 * Softmax cross-entropy of integer labels (mean over the batch), optionally label-smoothed as
 * PyTorch's `CrossEntropyLoss(label_smoothing=ε)` (target (1 − ε)·onehot + ε/K), and the number of
 * correct top-1 predictions, as one kernel each way where a backend registers them:
 *   `MixtureSoftmaxXent` {logits (B, K) float32, labels (B) int32}, attrs {labelSmoothing}
 *     → [loss (), correct (), probs (B, K)]
 *   `MixtureSoftmaxXentGrad` {dy (), probs (B, K), labels (B)}, attrs {labelSmoothing}
 *     → dlogits = dy · (probs − target) / B   (zero on a row whose label is out of range)
 * The composite (oneHot, logSoftmax, mul, sum, mean, neg; argMax, equal, cast, sum; and their
 * gradients) is about 20 dispatches per training step on WebGPU. A label outside [0, K) contributes
 * nothing to the loss and is never correct, as with the composite's one-hot row of zeros (smoothed
 * or not); it still counts in the batch mean.
 * The webgpu backend registers both; the others run the composite. Target distributions (B, K)
 * (train.mixup) take the soft-target composite (`softTargetCrossEntropy`) on every backend.
 */
import {tf} from '../engine/tf.js'
import {customOp, hasKernels, runKernel, type OpContract} from './contract.js'

export const XENT_KERNEL = 'MixtureSoftmaxXent'
export const XENT_GRAD_KERNEL = 'MixtureSoftmaxXentGrad'

/** The target of each row: the one-hot label, smoothed by ε (a row of zeros for a label out of range). */
function targets(labels: tf.Tensor1D, k: number, smoothing: number): tf.Tensor {
  const onehot = tf.oneHot(labels, k)
  if (smoothing === 0) return onehot
  const valid = tf.cast(tf.logicalAnd(tf.greaterEqual(labels, 0), tf.less(labels, k)), 'float32')
  return tf.add(tf.mul(onehot, 1 - smoothing), tf.mul(tf.expandDims(valid, 1), smoothing / k))
}

/**
 * The number of rows whose first largest logit is at the label: Σ [argmax = label], a float32
 * scalar; against target distributions (B, K), at each row's (first) largest share.
 */
export function correctCount(logits: tf.Tensor2D, labels: tf.Tensor1D | tf.Tensor2D): tf.Scalar {
  const target = labels.rank === 2 ? tf.argMax(labels, 1) : labels
  return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), target), 'float32')) as tf.Scalar
}

/**
 * Soft-target cross-entropy (timm's SoftTargetCrossEntropy; train.mixup): −mean(Σ logSoftmax ·
 * target) over target distributions (B, K) float32 — their smoothing is already in them — and the
 * count of rows whose top-1 is at the target's largest share. The composite on every backend.
 */
export function softTargetCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D): {loss: tf.Scalar; correct: tf.Scalar} {
  const loss = tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), targets), 1))) as tf.Scalar
  return {loss, correct: tf.keep(correctCount(logits, targets))}
}

/** The composite: −mean(Σ logSoftmax · target), Σ [argmax = label]. */
export function crossEntropyComposite(logits: tf.Tensor2D, labels: tf.Tensor1D, labelSmoothing = 0): {loss: tf.Scalar; correct: tf.Scalar} {
  const k = logits.shape[1]
  const target = targets(labels, k, labelSmoothing)
  const loss = tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), target), 1))) as tf.Scalar
  return {loss, correct: correctCount(logits, labels)}
}

/**
 * Mean softmax cross-entropy of integer labels (label-smoothed by `labelSmoothing`), and the number of
 * correct top-1 predictions. The count is kept (it outlives an enclosing tidy, as a metric does):
 * the caller disposes it. Target distributions (B, K) (train.mixup) go to `softTargetCrossEntropy`:
 * their smoothing is in them, so `labelSmoothing` must be 0.
 */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D | tf.Tensor2D, labelSmoothing = 0): {loss: tf.Scalar; correct: tf.Scalar} {
  if (labels.rank === 2) {
    if (labelSmoothing !== 0) throw new Error('crossEntropy: target distributions carry their own label smoothing; pass 0')
    return softTargetCrossEntropy(logits, labels as tf.Tensor2D)
  }
  const fused = logits.dtype === 'float32' && labels.dtype === 'int32' && hasKernels(XENT_KERNEL, XENT_GRAD_KERNEL)
  if (!fused) {
    const {loss, correct} = crossEntropyComposite(logits, labels as tf.Tensor1D, labelSmoothing)
    return {loss, correct: tf.keep(correct)}
  }
  return crossEntropyFused(logits, labels as tf.Tensor1D, labelSmoothing)
}

/** Both through `MixtureSoftmaxXent` and `MixtureSoftmaxXentGrad` (the count kept, as by `crossEntropy`). */
export function crossEntropyFused(logits: tf.Tensor2D, labels: tf.Tensor1D, labelSmoothing = 0): {loss: tf.Scalar; correct: tf.Scalar} {
  let correct: tf.Scalar | undefined
  const attrs = {labelSmoothing}
  const op = customOp((x: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const [loss, right, probs] = runKernel<tf.Tensor[]>(XENT_KERNEL, {logits: x, labels}, attrs)
    // customGrad runs f inside a tidy: everything but the value is disposed unless kept or saved.
    correct = tf.keep(right as tf.Scalar)
    save([probs])
    return {
      value: loss,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => runKernel(XENT_GRAD_KERNEL, {dy, probs: saved[0], labels}, attrs),
    }
  })
  const loss = op(logits) as tf.Scalar
  return {loss, correct: correct!}
}

const xentExample = () => [tf.randomUniform([9, 13], -3, 3, 'float32', 101), tf.tensor1d([0, 12, 5, 5, 7, 1, 13, -1, 3], 'int32')]

/** The contract of the op at label smoothing ε. */
function crossEntropyContract(name: string, summary: string, smoothing: number): OpContract {
  return {
    name,
    summary,
    kernels: [XENT_KERNEL, XENT_GRAD_KERNEL],
    example: xentExample,
    fused: ([logits, labels]) => {
      const {loss, correct} = crossEntropyFused(logits as tf.Tensor2D, labels as tf.Tensor1D, smoothing)
      return [loss, correct]
    },
    composite: ([logits, labels]) => {
      const {loss, correct} = crossEntropyComposite(logits as tf.Tensor2D, labels as tf.Tensor1D, smoothing)
      return [loss, correct]
    },
    gradients: [0],
    tolerance: 1e-5,
  }
}

export const crossEntropyOps: OpContract[] = [
  crossEntropyContract('cross-entropy', 'mean softmax cross-entropy of integer labels, and the top-1 count (an out-of-range label counts for nothing)', 0),
  crossEntropyContract('cross-entropy-smoothed', 'the same with label smoothing 0.1 (PyTorch\'s CrossEntropyLoss(label_smoothing=0.1))', 0.1),
]
