/**
 * Stage 2 of `train:` (validate.ts calls it): the optimizer against its type's own schema
 * (schema/recipe.ts `optimizerSchemas`) and the schedule against its registry entry's (with the warmup
 * keys the registry adds), defaults filled; a schedule given by name becomes `{type}`; an unknown
 * schedule gets a did-you-mean among those registered; and what the schema cannot say is refused
 * with the reason: Nesterov without momentum, a schedule that makes no sense for the run's epochs
 * (schedules/schedule.ts `scheduleProblems`); early stopping's metric comes from the validation split
 * and its mode from the metric (a validation metric without a validation split is refused).
 *
 * An optimizer key of another type is accepted when it holds that type's default, so that a spec can
 * switch `type` over a base that spells out Adam's betas and eps (`extends` merges objects and cannot
 * remove a key); it is dropped from the resolved spec. Any other value is an error.
 */
import {scheduleProblems} from '../schedules/schedule.js'
import {lookup, namesInOrder, type JsonSchema} from '../registry/registry.js'
import {type Problem, suggest} from './errors.js'
import {isObject, joinPath, originOf, type JsonObject, type Origins} from './load.js'
import {optimizerSchemas, type ScheduleSpec} from '../schema/recipe.js'

/** Checks `value` against `schema` (filling its defaults), reporting problems under `path`; whether it passed. */
export type SchemaCheck = (schema: JsonSchema, value: JsonObject, path: string) => boolean

function defaultOf(schema: JsonSchema, key: string): unknown {
  return (schema.properties as Record<string, {default?: unknown}> | undefined)?.[key]?.default
}

function resolveOptimizer(train: JsonObject, origins: Origins, problems: Problem[], check: SchemaCheck): void {
  const optimizer = train.optimizer
  if (!isObject(optimizer) || typeof optimizer.type !== 'string' || !(optimizer.type in optimizerSchemas)) return // stage 1 reported it
  const type = optimizer.type as keyof typeof optimizerSchemas
  const schema = optimizerSchemas[type]
  const own = schema.properties as Record<string, unknown>
  const path = 'train.optimizer'
  for (const [key, value] of Object.entries(optimizer)) {
    if (key in own) continue
    const owners = Object.entries(optimizerSchemas).filter(([, s]) => key in (s.properties as object))
    if (owners.length === 0) continue // an unknown key: the type's schema reports it
    if (owners.some(([, s]) => JSON.stringify(defaultOf(s, key)) === JSON.stringify(value))) {
      delete optimizer[key]
      continue
    }
    const at = joinPath(path, key)
    problems.push({origin: originOf(origins, at), path: at, message: `applies to ${owners.map(([name]) => name).join(' and ')} only, not to ${type}${type === 'sgd' ? '' : ' (its momentum is betas[0])'}; remove it, or set train.optimizer.type`})
    delete optimizer[key] // reported here; not again as an unknown key
  }
  if (!check(schema, optimizer, path)) return
  if (optimizer.nesterov === true && (optimizer.momentum === 0 || optimizer.dampening !== 0)) {
    const at = joinPath(path, 'nesterov')
    problems.push({origin: originOf(origins, at), path: at, message: `Nesterov momentum needs momentum > 0 and dampening 0 (got momentum ${optimizer.momentum}, dampening ${optimizer.dampening}), as in PyTorch`})
  }
}

function resolveSchedule(train: JsonObject, origins: Origins, problems: Problem[], check: SchemaCheck): void {
  const path = 'train.schedule'
  const raw = train.schedule
  const schedule = typeof raw === 'string' ? {type: raw} : raw
  if (!isObject(schedule)) return // stage 1 reported it
  const {type, ...params} = schedule
  const entry = typeof type === 'string' ? lookup('schedule', type) : undefined
  if (!entry) {
    const at = typeof raw === 'string' ? path : joinPath(path, 'type')
    const registered = namesInOrder('schedule')
    const guess = typeof type === 'string' ? suggest(type, registered) : undefined
    problems.push({origin: originOf(origins, at), path: at, message: `${type === undefined ? 'needs a type' : `unknown schedule ${JSON.stringify(type)}`}${guess ? `, did you mean ${guess}?` : ''}; registered: ${registered.join(', ')} (a plugin file listed under plugins: can add more)`})
    return
  }
  if (!check(entry.schema, params, path)) return
  train.schedule = {type, ...params}
  const optimizer = train.optimizer as {lr?: unknown}
  if (typeof optimizer?.lr !== 'number' || typeof train.epochs !== 'number') return
  for (const {key, message} of scheduleProblems(train.schedule as ScheduleSpec, optimizer.lr, train.epochs)) {
    const at = joinPath(path, key)
    problems.push({origin: originOf(origins, at), path: at, message})
  }
}

/** Early stopping's metric (the validation accuracy where the run holds a validation split out, else the test accuracy) and mode. */
function resolveEarlyStopping(train: JsonObject, hasVal: boolean, origins: Origins, problems: Problem[]): void {
  const early = train.early_stopping
  if (!isObject(early)) return
  early.metric ??= hasVal ? 'val_accuracy' : 'test_accuracy'
  if (typeof early.metric !== 'string') return
  if (early.metric.startsWith('val_') && !hasVal) {
    const at = 'train.early_stopping.metric'
    problems.push({origin: originOf(origins, at), path: at, message: `${early.metric} needs a validation split: set data.val_split (e.g. 0.1), or watch test_accuracy or test_loss`})
  }
  early.mode ??= early.metric.endsWith('_loss') ? 'min' : 'max'
}

/**
 * Stage 2 of `train` (after stage 1 filled its defaults): problems are pushed, values resolved in
 * place. `hasVal`: the spec holds a validation split out (`data.val_split` > 0).
 */
export function resolveRecipe(train: unknown, hasVal: boolean, origins: Origins, problems: Problem[], check: SchemaCheck): void {
  if (!isObject(train)) return
  resolveOptimizer(train, origins, problems, check)
  resolveSchedule(train, origins, problems, check)
  resolveEarlyStopping(train, hasVal, origins, problems)
}
