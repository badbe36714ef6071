/**
 * The pure half of step replay (src/backends/webgpu/graph-plan.ts) on plain objects, no GPU: which
 * recorded steps can be replayed, the role of every binding, and the signature that two consecutive
 * recordings must share.
 */
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {tf} from '../../../src/engine/tf.js'
import {planRecording, pruneUnread, type Command, type Known, type Plan} from '../../../src/backends/webgpu/graph-plan.js'
import type {StepContext} from '../../../src/engine/step-graph.js'

const UNIFORM = 64
const STORAGE = 128
interface Buf {
  size: number
  usage: number
  label: string
}
const buf = (label: string, size = 16, usage = STORAGE): Buf => ({label, size, usage})
const context: StepContext = {step: 3, update: {op: 'adam', attrs: {lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 3}}}
const pipe = {p: 1}
const pipe2 = {p: 2}
const d = (name: string, bindings: Buf[], writes = 1, pipeline: object = pipe): Command<Buf> => ({kind: 'dispatch', name, pipeline, bindings: bindings.map((buffer) => ({buffer})), workgroups: [4, 1, 1], writes})
const stepValues = (c: StepContext): number[] => [c.step, 2 * c.step]
const perStepBytes = (c: StepContext): Uint8Array => new Uint8Array(Float32Array.from(stepValues(c)).buffer)

/** A typical world: a weight w (state), inputs x and y, a uniform block, and free pool buffers. */
function world() {
  const w = buf('w')
  const x = buf('x')
  const y = buf('y')
  const u = buf('u', 16, UNIFORM)
  const known = new Map<Buf, Known>([
    [w, {role: 'state', tensor: tf.scalar(0)}],
    [x, {role: 'x'}],
    [y, {role: 'y'}],
  ])
  return {w, x, y, u, known}
}

function plan(commands: Command<Buf>[], known: Map<Buf, Known>, free: Buf[]): Plan<Buf> | string {
  return planRecording(commands, known, new Set(free), UNIFORM, context)
}

test('a forward-backward-update step: intermediates written before read, the weight updated in place', () => {
  const {w, x, y, u, known} = world()
  const h = buf('h')
  const g = buf('g')
  const p = plan([d('forward', [h, x, w, u]), d('loss', [g, h, y, u]), d('update', [w, g, u])], known, [h, g])
  assert.ok(typeof p !== 'string', String(p))
  assert.deepEqual(p.slots.map((s) => `${s.buffer.label}:${s.role}`), ['h:transient', 'x:x', 'w:state', 'g:transient', 'y:y'])
  assert.deepEqual(p.commands.map((c) => (c.kind === 'dispatch' ? c.slots : [])), [[0, 1, 2, -1], [3, 0, 4, -1], [2, 3, -1]])
  assert.equal(p.dispatches, 3)
})

test('what cannot be replayed, and why', () => {
  const {w, x, y, u, known} = world()
  const h = buf('h')
  const c = buf('c')
  const cases: [string, Command<Buf>[], Map<Buf, Known>, Buf[], RegExp][] = [
    ['an intermediate read before the step writes it', [d('a', [w, h, x, y, u])], known, [h], /reads a buffer before the step writes it/],
    ['a live buffer that is neither state nor input', [d('a', [h, x, y, c])], known, [h], /a live tensor that is not in its state/],
    ['a cached constant written', [d('a', [c, x, y])], new Map([...known, [c, {role: 'constant', tensor: tf.scalar(1)}]]), [], /writes a cached constant/],
    ['the batch written', [d('a', [x, y])], known, [], /writes the step's x tensor/],
    ['the labels never bound', [d('a', [h, x, u])], known, [h], /never reads its labels/],
    ['a binding that is not a buffer', [{kind: 'dispatch', name: 'a', pipeline: pipe, bindings: [{}], workgroups: [1], writes: 0}], known, [], /binds something other than a buffer/],
  ]
  for (const [what, commands, k, free, reason] of cases) {
    const p = plan(commands, k, free)
    assert.equal(typeof p, 'string', what)
    assert.match(p as string, reason, what)
  }
})

test('per-step tensors: their upload must hold what the registered function gives', () => {
  const {x, y, known} = world()
  const s = buf('s', 8)
  const h = buf('h')
  const k = new Map<Buf, Known>([...known, [s, {role: 'per-step', perStep: {name: 'adam', dtype: 'float32', values: stepValues}}]])
  const good = plan([{kind: 'upload', buffer: s, bytes: perStepBytes(context)}, d('a', [h, x, y, s])], k, [h])
  assert.ok(typeof good !== 'string', String(good))
  assert.deepEqual(good.slots.map((sl) => sl.role), ['transient', 'x', 'y', 'per-step'], 'its slot comes with the first dispatch that reads it')
  assert.equal(good.commands.length, 1, 'the per-step upload is not replayed as a copy (the replay writes it)')
  // A per-step tensor is uploaded only in the steps where its values change: the same signature without the upload.
  const unchanged = plan([d('a', [h, x, y, s])], k, [h])
  assert.ok(typeof unchanged !== 'string', String(unchanged))
  assert.equal(unchanged.signature, good.signature)
  assert.deepEqual(unchanged.slots, good.slots)
  const stale = plan([{kind: 'upload', buffer: s, bytes: perStepBytes({...context, step: 2})}, d('a', [h, x, y, s])], k, [h])
  assert.match(String(stale), /per-step tensor 'adam' does not hold/)
})

test("a loss-scaled step's update half reads no batch; every other step must read x and y", () => {
  const {w, u, known} = world()
  const g = buf('g')
  const update = [d('update', [w, g, u])]
  const k = new Map<Buf, Known>([...known, [g, {role: 'state', tensor: tf.scalar(0)}]])
  assert.match(String(plan(update, k, [])), /never reads its input batch/)
  const p = planRecording(update, k, new Set(), UNIFORM, context, false)
  assert.ok(typeof p !== 'string', String(p))
  assert.deepEqual(p.slots.map((sl) => `${sl.buffer.label}:${sl.role}`), ['w:state', 'g:state'])
})

test('a buffer lent to an intermediate, then (uploaded) to a per-step tensor in the same step, is two slots', () => {
  const {x, y, known} = world()
  const s = buf('s', 8)
  const h = buf('h')
  const k = new Map<Buf, Known>([...known, [s, {role: 'per-step', perStep: {name: 'adam', dtype: 'float32', values: stepValues}}]])
  const p = plan([d('a', [s, x, y]), d('b', [h, s]), {kind: 'upload', buffer: s, bytes: perStepBytes(context)}, d('c', [h, s])], k, [h])
  assert.ok(typeof p !== 'string', String(p))
  assert.deepEqual(p.slots.map((sl) => `${sl.buffer.label}:${sl.role}${sl.fresh ? ' (new buffer)' : ''}`), ['s:transient (new buffer)', 'x:x', 'y:y', 'h:transient', 's:per-step'])
  assert.deepEqual(p.commands.map((c) => (c.kind === 'dispatch' ? c.slots : [])), [[0, 1, 2], [3, 0], [3, 4]])
})

test('an upload into an intermediate (a constant made in the step) is replayed as a copy of its bytes', () => {
  const {x, y, known} = world()
  const ones = buf('ones', 4)
  const h = buf('h')
  const bytes = new Uint8Array(Float32Array.of(1).buffer)
  const p = plan([{kind: 'upload', buffer: ones, bytes}, d('a', [h, x, y, ones])], known, [ones, h])
  assert.ok(typeof p !== 'string', String(p))
  assert.deepEqual(p.commands[0], {kind: 'upload', slot: 0, bytes})
})

test('signatures: the same work on other intermediate buffers agrees; other pipelines, workgroups or uploaded bytes do not', () => {
  const {w, x, y, u, known} = world()
  const step = (h: Buf, pipeline: object = pipe, value = 1): Command<Buf>[] => [
    {kind: 'upload', buffer: buf('c', 4), bytes: new Uint8Array(Float32Array.of(value).buffer)},
    d('forward', [h, x, w, u], 1, pipeline),
    d('update', [w, h, y, u]),
  ]
  const sig = (commands: Command<Buf>[]): string => {
    const free = commands.flatMap((c) => (c.kind === 'dispatch' ? c.bindings.map((b) => b.buffer!) : [c.buffer])).filter((b) => !known.has(b) && b.usage !== UNIFORM)
    const p = plan(commands, known, free)
    assert.ok(typeof p !== 'string', String(p))
    return p.signature
  }
  const a = sig(step(buf('h1')))
  assert.equal(sig(step(buf('h2'))), a)
  assert.notEqual(sig(step(buf('h1'), pipe2)), a)
  assert.notEqual(sig(step(buf('h1'), pipe, 2)), a)
  const other = step(buf('h1'))
  ;(other[1] as {workgroups: number[]}).workgroups = [8, 1, 1]
  assert.notEqual(sig(other), a)
})

/** The names of the dispatches a pruned plan keeps (uploads as 'upload'). */
function kept(commands: Command<Buf>[], known: Map<Buf, Known>, free: Buf[]): {names: string[]; pruned: number; dispatches: number} {
  const p = plan(commands, known, free)
  assert.ok(typeof p !== 'string', String(p))
  const q = pruneUnread(p)
  assert.equal(q.generations.length, q.commands.length)
  return {names: q.commands.map((c) => (c.kind === 'dispatch' ? c.command.name : 'upload')), pruned: q.pruned ?? 0, dispatches: q.dispatches}
}

test('pruning: work whose results nothing kept reads is left out — a chain of them too; state writes stay', () => {
  const {w, x, y, u, known} = world()
  const h = buf('h')
  const dx = buf('dx')
  const dx2 = buf('dx2')
  const g = buf('g')
  const r = kept(
    [d('forward', [h, x, w, u]), d('input gradient', [dx, h, w, u]), d('its consumer', [dx2, dx, u]), d('loss', [g, h, y, u]), d('update', [w, g, u]), d('metric', [w, h, u])],
    known,
    [h, dx, dx2, g],
  )
  assert.deepEqual(r, {names: ['forward', 'loss', 'update', 'metric'], pruned: 2, dispatches: 4})
  // A dispatch with one read and one unread output stays; one that declares no output stays.
  const two = kept([d('forward', [h, x, w, u]), d('two outputs', [dx, g, h, u], 2), d('update', [w, g, y, u]), d('declares none', [h, u], 0)], known, [h, dx, g])
  assert.deepEqual(two.names, ['forward', 'two outputs', 'update', 'declares none'])
})

test('pruning: a buffer lent again within the step starts a new generation; without that event the writes are kept', () => {
  const {w, x, y, u, known} = world()
  const h = buf('h')
  const b = buf('b')
  const steps = (lentAgain: boolean): Command<Buf>[] => [
    d('forward', [h, x, w, u]),
    d('unread', [b, h, u]),
    ...(lentAgain ? [{kind: 'acquire', buffer: b} as Command<Buf>] : []),
    d('read later', [b, h, y, u]),
    d('update', [w, b, u]),
  ]
  assert.deepEqual(kept(steps(true), known, [h, b]).names, ['forward', 'read later', 'update'])
  assert.deepEqual(kept(steps(false), known, [h, b]).names, ['forward', 'unread', 'read later', 'update'])
  // An acquire before a buffer's first use changes nothing.
  assert.deepEqual(kept([{kind: 'acquire', buffer: h}, ...steps(true)], known, [h, b]).names, ['forward', 'read later', 'update'])
})

test('pruning: every write of a read generation is kept (k-split accumulation into one output); uploads only where read', () => {
  const {w, x, y, u, known} = world()
  const acc = buf('acc')
  const c = buf('c', 4)
  const c2 = buf('c2', 4)
  const bytes = new Uint8Array(Float32Array.of(1).buffer)
  const r = kept(
    [{kind: 'upload', buffer: c, bytes}, {kind: 'upload', buffer: c2, bytes}, d('zero', [acc, u]), d('accumulate', [acc, x, c, u]), d('accumulate', [acc, y, u]), d('update', [w, acc, u])],
    known,
    [acc, c, c2],
  )
  assert.deepEqual(r, {names: ['upload', 'zero', 'accumulate', 'accumulate', 'update'], pruned: 0, dispatches: 4})
  // The second upload into one buffer is a new generation: the first, never read, is left out.
  const again = kept([{kind: 'upload', buffer: c, bytes}, d('forward', [acc, x, y, u]), {kind: 'upload', buffer: c, bytes}, d('update', [w, acc, c, u])], known, [acc, c])
  assert.deepEqual(again.names, ['forward', 'upload', 'update'])
})
