/**
 * What the optimizer ops share (adam.ts, adamw.ts, sgd.ts): the update of one weight is one kernel
 *   {param, grad, <state>...} float32 of one shape, attrs → [param', <state>'...]
 * (Adam's state is m and v, SGD's its momentum buffer) with a composite for backends without it; a
 * backend may also update many weights at once, in place (`registerInPlaceUpdate`; the webgpu backend
 * does, which is what lets it replay a recorded step); and one step over every weight takes whichever
 * the active backend has. The contracts of each op (one weight; several in place) are made here too.
 */
import {tf} from '../engine/tf.js'
import {hasKernels, runKernel, type OpContract} from './contract.js'

/** An optimizer's update of one weight, as its op file describes it. */
export interface UpdateOp<A> {
  /** The op (`adam`), as contracts name it. */
  name: string
  kernel: string
  /** The state tensors of one weight, as the kernel's inputs name them (`m`, `v`; `momentum`). */
  state: string[]
  /** [param', ...state'] from tfjs ops: what backends without the kernel run. */
  composite(param: tf.Tensor, grad: tf.Tensor, state: tf.Tensor[], a: A): tf.Tensor[]
}

/** One weight's update through the op's kernel. */
export function fusedUpdate<A extends object>(op: UpdateOp<A>, param: tf.Tensor, grad: tf.Tensor, state: tf.Tensor[], a: A): tf.Tensor[] {
  const inputs: tf.NamedTensorMap = {param, grad}
  op.state.forEach((name, i) => (inputs[name] = state[i]))
  return runKernel<tf.Tensor[]>(op.kernel, inputs, {...a})
}

/** One weight's update through the backend's kernel when it has one, else the composite. */
export function updateOne<A extends object>(op: UpdateOp<A>, param: tf.Tensor, grad: tf.Tensor, state: tf.Tensor[], a: A): tf.Tensor[] {
  return hasKernels(op.kernel) ? fusedUpdate(op, param, grad, state, a) : op.composite(param, grad, state, a)
}

/**
 * A backend's in-place update of many weights at once (fewer dispatches, no new tensors): `state[i]`
 * holds weight i's state tensors in the op's order. It updates the weights it can and returns, per
 * weight, whether it did; the others go through `updateOne`.
 */
export type InPlaceUpdate<A> = (params: tf.Variable[], grads: tf.Tensor[], state: tf.Variable[][], a: A) => boolean[]

const inPlace = new Map<string, InPlaceUpdate<never>>()

/** Registers `backendName`'s in-place update for the op whose kernel is `kernel`. */
export function registerInPlaceUpdate<A>(backendName: string, kernel: string, update: InPlaceUpdate<A>): void {
  inPlace.set(`${backendName}/${kernel}`, update as InPlaceUpdate<never>)
}

/** Whether the active backend updates the weights of the op with kernel `kernel` in place. */
export function hasInPlaceUpdate(kernel: string): boolean {
  return inPlace.has(`${tf.getBackend()}/${kernel}`)
}

/**
 * One step of `op` over every weight: the backend's in-place update where it has one, else one
 * fused (or composite) update per weight whose results replace the variables' values.
 */
export function updateStep<A extends object>(op: UpdateOp<A>, params: tf.Variable[], grads: tf.Tensor[], state: tf.Variable[][], a: A): void {
  const update = inPlace.get(`${tf.getBackend()}/${op.kernel}`) as InPlaceUpdate<A> | undefined
  const done = update ? update(params, grads, state, a) : []
  params.forEach((param, i) => {
    if (done[i]) return
    tf.tidy(() => {
      const [p, ...s] = updateOne(op, param, grads[i], state[i], a)
      param.assign(p)
      state[i].forEach((t, k) => t.assign(s[k]))
    })
  })
}

/** How an op's contracts make one small weight: its state tensors from a seed (the weight and gradient are U(−1, 1)). */
export type ExampleState = (shape: number[], seed: number) => tf.Tensor[]

/** Every weight's [param', ...state'] after `update` of the weights in `inputs` (param, grad, state... of each in turn). */
function inPlaceRun(inputs: tf.Tensor[], width: number, update: (params: tf.Variable[], grads: tf.Tensor[], state: tf.Variable[][]) => void): tf.Tensor[] {
  const weights: tf.Tensor[][] = []
  for (let i = 0; i < inputs.length; i += width) weights.push(inputs.slice(i, i + width))
  // Made inside tidy so that each variable owns its data (an in-place update needs that).
  const variable = (t: tf.Tensor) => tf.tidy(() => tf.variable(t.clone(), false))
  const params = weights.map(([p]) => variable(p))
  const state = weights.map((w) => w.slice(2).map(variable))
  update(
    params,
    weights.map(([, g]) => g),
    state,
  )
  return params.flatMap((p, i) => [p, ...state[i]])
}

/**
 * The two contracts of an optimizer op: one weight through its kernel against the composite, and a
 * step over three weights in place (where the backend has that) against the composite per weight.
 */
export function updateContracts<A extends object>(op: UpdateOp<A>, summary: string, attrs: A, exampleState: ExampleState, seed: number): OpContract[] {
  const width = 2 + op.state.length
  const example = (shape: number[], s: number) => [tf.randomUniform(shape, -1, 1, 'float32', s), tf.randomUniform(shape, -1, 1, 'float32', s + 1), ...exampleState(shape, s + 2)]
  return [
    {
      name: op.name,
      summary: `one weight's ${summary}`,
      kernels: [op.kernel],
      example: () => example([37, 5], seed),
      fused: ([p, g, ...s]) => fusedUpdate(op, p, g, s, attrs),
      composite: ([p, g, ...s]) => op.composite(p, g, s, attrs),
      tolerance: 1e-6,
    },
    {
      name: `${op.name}-in-place`,
      summary: `every weight's ${summary}, at once, in place`,
      kernels: [],
      fusedHere: () => hasInPlaceUpdate(op.kernel),
      example: () => [...example([37, 5], seed + 10), ...example([64], seed + 20), ...example([3, 3, 4, 8], seed + 30)],
      fused: (inputs) => inPlaceRun(inputs, width, (params, grads, state) => updateStep(op, params, grads, state, attrs)),
      composite: (inputs) =>
        inPlaceRun(inputs, width, (params, grads, state) =>
          params.forEach((p, i) => {
            const [p1, ...s1] = op.composite(p, grads[i], state[i], attrs)
            p.assign(p1)
            state[i].forEach((t, k) => t.assign(s1[k]))
            tf.dispose([p1, ...s1])
          }),
        ),
      tolerance: 1e-6,
    },
  ]
}
