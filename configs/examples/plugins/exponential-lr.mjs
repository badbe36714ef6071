// A learning-rate schedule of your own, as a plugin file writes one: PyTorch's ExponentialLR
// (per epoch: lr · gamma^epoch). The registry gives it warmup_epochs and warmup_start_factor; its
// epochs then count from the end of the warmup. problems() is checked when the spec is validated.
export default function (mm) {
  mm.registerSchedule({
    name: 'exponential',
    summary: 'per epoch: lr · gamma^epoch (ExponentialLR)',
    schema: {type: 'object', additionalProperties: false, required: ['gamma'], properties: {gamma: {type: 'number', exclusiveMinimum: 0, maximum: 1}}},
    problems: (p) => (p.gamma === 1 ? [{key: 'gamma', message: 'is 1: the rate would never change; use schedule: constant'}] : []),
    create: (p, run) => ({lrAt: (step) => run.lr * p.gamma ** Math.floor(step / run.stepsPerEpoch)}),
  })
}
