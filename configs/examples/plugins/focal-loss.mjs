// A training loss of your own, as a plugin file writes one: the focal loss of Lin et al. (2017),
// arXiv:1708.02002, on a softmax: mean over the batch of −α (1 − p_t)^γ log p_t, where p_t is the
// probability the model gives the right class. γ = 0, α = 1 is cross-entropy. The gradient comes
// from autodiff; the trainer counts the correct predictions. Test and validation losses stay plain
// cross-entropy, so the table compares it with runs of other losses.
export default function (mm) {
  const {tf} = mm
  mm.registerLoss({
    name: 'focal',
    summary: 'focal loss (Lin et al. 2017) on a softmax: −α (1 − p_t)^γ log p_t, mean over the batch',
    paper: 'arXiv:1708.02002',
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: {
        gamma: {type: 'number', minimum: 0, default: 2, description: 'focusing parameter γ: 0 is cross-entropy'},
        alpha: {type: 'number', exclusiveMinimum: 0, default: 1, description: 'weight α of every class'},
      },
    },
    create: ({gamma, alpha}, {numClasses}) => (logits, labels) => {
      const logPt = tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(labels, numClasses)), 1)
      const focus = tf.pow(tf.sub(1, tf.exp(logPt)), gamma)
      return tf.mean(tf.mul(tf.mul(focus, logPt), -alpha))
    },
  })
}
