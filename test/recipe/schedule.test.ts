// Learning-rate schedules against torch.optim.lr_scheduler (test/fixtures/torch/recipe.json): the rate
// of every step of StepLR, MultiStepLR, CosineAnnealingLR and OneCycleLR, of LinearLR warmup in front
// of cosine, step, multistep and a constant rate (SequentialLR), and OneCycleLR's momentum (Adam's
// beta1) where it cycles it; schedules that make no sense refused with the reason; what a schedule
// entry may not declare; a checkpoint's schedule state.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {createSchedule, scheduleMismatch, scheduleProblems, scheduleState, ScheduleError, type ScheduleSpec} from '../../src/recipe/schedule.js'
import {exitCodeFor} from '../../src/base-command.js'
import {lookup, registerSchedule} from '../../src/registry/registry.js'
import {REPO} from '../helpers.js'

const FIXTURE = JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'torch', 'recipe.json'), 'utf8')) as {
  schedules: {name: string; schedule: ScheduleSpec; lr: number; epochs: number; steps_per_epoch: number; lrs: number[]; momenta?: number[]}[]
}

test('every schedule gives the learning rate torch.optim.lr_scheduler gives, step by step', () => {
  assert.deepEqual(new Set(FIXTURE.schedules.map((c) => c.schedule.type)), new Set(['step', 'multistep', 'cosine', 'onecycle', 'constant']))
  // Every schedule that takes the shared warmup is checked with one in front (SequentialLR).
  assert.deepEqual(FIXTURE.schedules.filter((c) => (c.schedule.warmup_epochs ?? 0) > 0).map((c) => c.schedule.type).sort(), ['constant', 'cosine', 'multistep', 'step'])
  for (const c of FIXTURE.schedules) {
    const schedule = createSchedule(c.schedule, c.lr, c.epochs, c.steps_per_epoch)
    assert.equal(schedule.totalSteps, c.lrs.length, c.name)
    c.lrs.forEach((want, step) => {
      const got = schedule.lrAt(step)
      // PyTorch steps most of these recursively (each rate from the last): the closed form differs in the last bits.
      assert.ok(Math.abs(got - want) <= 1e-12 + 1e-10 * want, `${c.name}: step ${step} has lr ${got}, torch ${want}`)
    })
    if (!c.momenta) {
      assert.equal(schedule.momentumAt, undefined, `${c.name} sets no momentum`)
      continue
    }
    assert.equal(c.momenta.length, c.lrs.length)
    c.momenta.forEach((want, step) => {
      const got = schedule.momentumAt!(step)
      assert.ok(Math.abs(got - want) <= 1e-12, `${c.name}: step ${step} has momentum ${got}, torch ${want}`)
    })
  }
  assert.deepEqual(FIXTURE.schedules.filter((c) => c.momenta).map((c) => c.name), ['onecycle', 'onecycle-linear'])
})

test('constant is the optimizer\'s rate; cosine reaches min_lr at the end and its peak after the warmup', () => {
  const constant = createSchedule({type: 'constant'}, 0.003, 5, 10)
  assert.equal(constant.lrAt(0), 0.003)
  assert.equal(constant.lrAt(49), 0.003)
  const cosine = createSchedule({type: 'cosine', warmup_epochs: 5, warmup_start_factor: 0.01, min_lr: 0.001}, 0.1, 200, 391)
  assert.equal(cosine.lrAt(0), 0.1 * 0.01)
  assert.equal(cosine.lrAt(5 * 391), 0.1)
  assert.ok(cosine.lrAt(200 * 391 - 1) - 0.001 < 1e-8)
  for (let t = 1; t < 200 * 391; t += 997) assert.ok(cosine.lrAt(t) > 0)
})

test('a schedule that makes no sense for the run is refused with the reason', () => {
  const problems = (spec: ScheduleSpec, lr = 0.1, epochs = 10) => scheduleProblems(spec, lr, epochs).map((p) => `${p.key}: ${p.message}`)
  assert.match(problems({type: 'cosine', warmup_epochs: 10, warmup_start_factor: 0.01, min_lr: 0})[0], /^warmup_epochs: is 10, but training has 10 epochs: the warmup would be as long as training/)
  assert.match(problems({type: 'cosine', warmup_epochs: 1, warmup_start_factor: 0.01, min_lr: 0.1})[0], /^min_lr: is 0\.1, not below train\.optimizer\.lr \(0\.1\)/)
  assert.match(problems({type: 'step', step_size: 12, gamma: 0.1})[0], /^step_size: is 12, .* would never decay/)
  assert.deepEqual(problems({type: 'multistep', milestones: [3, 3, 10], gamma: 0.1}), [
    'milestones[1]: is 3, not after the milestone before it (3): list the epochs in increasing order',
    'milestones[2]: is 10, out of range: training has 10 epochs (0–9), so this decay would never happen',
  ])
  assert.deepEqual(problems({type: 'multistep', milestones: [1, 9], gamma: 0.1}), [])
  assert.throws(() => createSchedule({type: 'step', step_size: 12, gamma: 0.1}, 0.1, 10, 5), (e: unknown) => e instanceof ScheduleError && exitCodeFor(e) === 2 && /train\.schedule\.step_size is 12/.test(e.message))
  // One step in all: one-cycle has no step to rise on.
  assert.throws(
    () => createSchedule({type: 'onecycle', pct_start: 0.3, div_factor: 25, final_div_factor: 1e4, anneal_strategy: 'cos', cycle_momentum: true, base_momentum: 0.85, max_momentum: 0.95}, 0.1, 1, 1),
    /onecycle needs at least one step to rise and one to fall/,
  )
})

test('a schedule entry cannot declare the keys the registry gives it, and one that ramps up itself takes no warmup', () => {
  const entry = (schema: Record<string, unknown>) => ({name: 'ramp', summary: 'x', schema: {type: 'object', additionalProperties: false, properties: schema}, create: () => ({lrAt: () => 1})})
  assert.throws(() => registerSchedule(entry({warmup_epochs: {type: 'integer'}})), /schedule "ramp": its schema names warmup_epochs, which the registry provides/)
  assert.throws(() => registerSchedule(entry({type: {const: 'ramp'}})), /schedule "ramp": its schema names type, which the registry provides/)
  assert.deepEqual(Object.keys(lookup('schedule', 'step')!.schema.properties as object), ['step_size', 'gamma', 'warmup_epochs', 'warmup_start_factor'])
  assert.deepEqual(Object.keys(lookup('schedule', 'onecycle')!.schema.properties as object).filter((k) => k.startsWith('warmup')), [])
  // A schedule that sets the momentum holds its first value through a warmup in front of it.
  registerSchedule({...entry({}), name: 'test_momentum_ramp', create: () => ({lrAt: (step: number) => 1 / (step + 1), momentumAt: (step: number) => 0.9 - step / 100})})
  const ramp = createSchedule({type: 'test_momentum_ramp', warmup_epochs: 1, warmup_start_factor: 0.5}, 2, 3, 4)
  assert.deepEqual([0, 2, 4, 5, 11].map((t) => ramp.lrAt(t)), [1, 1.5, 1, 0.5, 1 / 8])
  assert.deepEqual([0, 3, 4, 5].map((t) => ramp.momentumAt!(t)), [0.9, 0.9, 0.9, 0.89])
})

test('the schedule state a checkpoint keeps: a resume continues only where the rates would not move', () => {
  const spec: ScheduleSpec = {type: 'cosine', warmup_epochs: 1, warmup_start_factor: 0.1, min_lr: 0}
  const schedule = createSchedule(spec, 0.1, 4, 10)
  const state = scheduleState(schedule, 20)
  assert.deepEqual(state, {type: 'cosine', steps_per_epoch: 10, next_step: 20, next_lr: schedule.lrAt(20)})
  assert.equal(scheduleMismatch(state, createSchedule(spec, 0.1, 4, 10)), undefined)
  assert.match(scheduleMismatch(state, createSchedule(spec, 0.1, 4, 11))!, /took 10 steps per epoch and would now take 11/)
  assert.match(scheduleMismatch(state, createSchedule({type: 'constant'}, 0.1, 4, 10))!, /written under the cosine schedule, and this run's is constant/)
  assert.match(scheduleMismatch(state, createSchedule(spec, 0.1, 5, 10))!, /gives step 20 a learning rate of .*, the checkpoint says/)
  assert.equal(scheduleMismatch(undefined, createSchedule({type: 'constant'}, 0.1, 4, 10)), undefined, 'a checkpoint from before schedules: constant rate')
  // One-cycle's momentum: kept in the state, and a run that did not cycle it is not continued by one that does.
  const cycling: ScheduleSpec = {type: 'onecycle', pct_start: 0.3, div_factor: 25, final_div_factor: 1e4, anneal_strategy: 'cos', cycle_momentum: true, base_momentum: 0.85, max_momentum: 0.95}
  const onecycle = createSchedule(cycling, 0.1, 4, 10)
  const saved = scheduleState(onecycle, 20)
  assert.equal(saved.next_momentum, onecycle.momentumAt!(20))
  assert.ok(saved.next_momentum! > 0.85 && saved.next_momentum! < 0.95)
  assert.equal(scheduleMismatch(saved, createSchedule(cycling, 0.1, 4, 10)), undefined)
  const {next_momentum: _, ...before} = saved
  assert.match(scheduleMismatch(before, onecycle)!, /did not set the momentum .* set train\.schedule\.cycle_momentum: false to continue the run as it was/)
  assert.equal(scheduleMismatch(before, createSchedule({...cycling, cycle_momentum: false}, 0.1, 4, 10)), undefined)
  assert.match(scheduleMismatch(saved, createSchedule({...cycling, cycle_momentum: false}, 0.1, 4, 10))!, /cycled the momentum .* and this run does not/)
  assert.match(scheduleMismatch(saved, createSchedule({...cycling, base_momentum: 0.8}, 0.1, 4, 10))!, /gives step 20 a momentum of .*, the checkpoint says/)
})
