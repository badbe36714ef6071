/**
 * Stage 2 of `train:` (validate.ts calls it): the optimizer, the schedule and the loss against their registry
 * entry's schema (with the shared keys the registry adds: `lr`, `weight_decay_exclude`; the warmup),
 * defaults filled; a schedule given by name becomes `{type}`; an unknown name gets a did-you-mean
 * among those registered; and what a schema cannot say is refused with the reason the entry gives
 * (its `problems`: Nesterov without momentum; a schedule that makes no sense for the run's epochs,
 * recipe/schedule.ts `scheduleProblems`). Early stopping's metric comes from the validation split
 * and its mode from the metric (a validation metric without a validation split is refused).
 * Where `train.mixup` mixes anything, its loss must take target distributions.
 *
 * An optimizer key of another type is accepted when it holds that type's default, so that a spec can
 * switch `type` over a base that spells out Adam's betas and eps (`extends` merges objects and cannot
 * remove a key); it is dropped from the resolved spec. Any other value is an error.
 */
import {scheduleProblems} from '../recipe/schedule.js'
import {softTargetsRefused} from '../recipe/loss.js'
import {allEntries, lookup, namesInOrder, type AnyEntry, type JsonSchema} from '../registry/registry.js'
import {type Problem, unknownEntry} from './errors.js'
import {isObject, originOf, type JsonObject, type Origins} from './load.js'
import {joinPath} from './key-path.js'
import type {ScheduleSpec} from '../schema/recipe.js'
import {mixesAnything, type MixupSpec} from '../schema/spec.js'

/** Checks `value` against `schema` (filling its defaults), reporting problems under `path`; whether it passed. */
export type SchemaCheck = (schema: JsonSchema, value: JsonObject, path: string) => boolean

function defaultOf(schema: JsonSchema, key: string): unknown {
  return (schema.properties as Record<string, {default?: unknown}> | undefined)?.[key]?.default
}

function resolveOptimizer(train: JsonObject, origins: Origins, problems: Problem[], check: SchemaCheck): void {
  const optimizer = train.optimizer
  if (!isObject(optimizer) || typeof optimizer.type !== 'string') return // stage 1 reported it
  const {type, ...params} = optimizer
  const path = 'train.optimizer'
  const entry = lookup('optimizer', type)
  if (!entry) {
    const at = joinPath(path, 'type')
    problems.push({origin: originOf(origins, at), path: at, message: unknownEntry('optimizer', type, namesInOrder('optimizer'))})
    return
  }
  const own = entry.schema.properties as Record<string, unknown>
  const others = allEntries(['optimizer']).filter((e) => e.name !== type)
  for (const [key, value] of Object.entries(params)) {
    if (key in own) continue
    const owners = others.filter((e) => key in (e.schema.properties as object))
    if (owners.length === 0) continue // an unknown key: the type's schema reports it
    delete params[key]
    if (owners.some((e) => JSON.stringify(defaultOf(e.schema, key)) === JSON.stringify(value))) continue
    const at = joinPath(path, key)
    // Reported here, and not again as an unknown key.
    problems.push({origin: originOf(origins, at), path: at, message: `applies to ${owners.map((e) => e.name).join(' and ')} only, not to ${type}${key === 'momentum' && 'betas' in own ? ' (its momentum is betas[0])' : ''}; remove it, or set train.optimizer.type`})
  }
  if (!check(entry.schema, params, path)) return
  train.optimizer = {type, ...params}
  for (const {key, message} of entry.problems?.(params) ?? []) {
    const at = joinPath(path, key)
    problems.push({origin: originOf(origins, at), path: at, message})
  }
}

/**
 * `train.<key>` given as a registered name or `{type, ...}` (a schedule, a loss): its entry, and its
 * parameters checked against the entry's schema (defaults filled); undefined once a problem is
 * reported (stage 1 reported a value that is neither).
 */
function namedEntry<K extends 'schedule' | 'loss'>(kind: K, train: JsonObject, origins: Origins, problems: Problem[], check: SchemaCheck): {type: string; params: JsonObject; entry: Extract<AnyEntry, {kind: K}>} | undefined {
  const path = `train.${kind}`
  const raw = train[kind]
  const given = typeof raw === 'string' ? {type: raw} : raw
  if (!isObject(given)) return undefined
  const {type, ...params} = given
  const entry = typeof type === 'string' ? lookup(kind, type) : undefined
  if (!entry) {
    const at = typeof raw === 'string' ? path : joinPath(path, 'type')
    problems.push({origin: originOf(origins, at), path: at, message: unknownEntry(kind, type, namesInOrder(kind))})
    return undefined
  }
  if (!check(entry.schema, params, path)) return undefined
  return {type: type as string, params, entry}
}

function resolveSchedule(train: JsonObject, origins: Origins, problems: Problem[], check: SchemaCheck): void {
  const resolved = namedEntry('schedule', train, origins, problems, check)
  if (!resolved) return
  train.schedule = {type: resolved.type, ...resolved.params}
  const optimizer = train.optimizer as {lr?: unknown}
  // Only against values that stage 1 accepted: an epoch count of 0 is reported once, as such.
  const epochs = train.epochs
  if (typeof optimizer?.lr !== 'number' || !(optimizer.lr > 0) || typeof epochs !== 'number' || !Number.isInteger(epochs) || epochs < 1) return
  for (const {key, message} of scheduleProblems(train.schedule as ScheduleSpec, optimizer.lr, epochs)) {
    const at = joinPath('train.schedule', key)
    problems.push({origin: originOf(origins, at), path: at, message})
  }
}

/**
 * `train.loss`: a registered loss with its keys (a name alone stays a name, so that a spec's hash
 * does not move), and a label smoothing the loss does not apply refused — unless train.mixup's
 * targets carry it (timm's mixup_target smooths them, for any loss that takes targets).
 */
function resolveLoss(train: JsonObject, origins: Origins, problems: Problem[], check: SchemaCheck): void {
  const resolved = namedEntry('loss', train, origins, problems, check)
  if (!resolved) return
  if (typeof train.loss !== 'string') train.loss = {type: resolved.type, ...resolved.params}
  const smoothedTargets = Boolean(resolved.entry.softTargets) && isObject(train.mixup) && mixesAnything(train.mixup as unknown as MixupSpec)
  if (typeof train.label_smoothing === 'number' && train.label_smoothing > 0 && !resolved.entry.labelSmoothing && !smoothedTargets) {
    const at = 'train.label_smoothing'
    const viaMixup = resolved.entry.softTargets ? ' — or train it with train.mixup, whose targets carry the smoothing' : ''
    problems.push({origin: originOf(origins, at), path: at, message: `the ${resolved.type} loss does not apply label smoothing; set it to 0, or use a loss that applies it (cross_entropy)${viaMixup}`})
  }
}

/**
 * `train.mixup`: a cutmix_minmax whose min is below its max and that gives boxes of different sides
 * at the images' size (timm's numpy draw fails otherwise), and, where it mixes anything (with both
 * alphas 0 it is off, as timm's --mixup 0 --cutmix 0), a loss that takes target distributions.
 */
function resolveMixup(train: JsonObject, imageSize: number | undefined, origins: Origins, problems: Problem[]): void {
  const mixup = train.mixup
  if (!isObject(mixup)) return
  const report = (key: string, message: string) => {
    const at = key ? joinPath('train.mixup', key) : 'train.mixup'
    problems.push({origin: originOf(origins, at), path: at, message})
  }
  const minmax = mixup.cutmix_minmax
  if (Array.isArray(minmax) && typeof minmax[0] === 'number' && typeof minmax[1] === 'number') {
    const [min, max] = minmax
    if (!(min < max)) report('cutmix_minmax', `[${minmax.join(', ')}]: the first (the smallest box side) must be below the second (the largest), e.g. [0.2, 0.8]`)
    else if (imageSize !== undefined && !(Math.trunc(imageSize * min) < Math.trunc(imageSize * max))) {
      const side = Math.trunc(imageSize * min)
      report('cutmix_minmax', `[${minmax.join(', ')}] of ${imageSize}-pixel images gives every box the side ${side} (⌊${imageSize}·min⌋ = ⌊${imageSize}·max⌋)${side === 0 ? ', so nothing is cut' : ''}: widen the range, e.g. [${Math.min(0.2, min)}, ${Math.max(0.8, max)}]`)
    }
  }
  const loss = typeof train.loss === 'string' ? train.loss : isObject(train.loss) ? train.loss.type : undefined
  const entry = typeof loss === 'string' ? lookup('loss', loss) : undefined
  if (entry && !entry.softTargets && mixesAnything(mixup as unknown as MixupSpec)) report('', softTargetsRefused(entry.name))
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
 * place. `hasVal`: the spec holds a validation split out (`data.val_split` > 0); `imageSize`: the
 * images' side, where the data say it.
 */
export function resolveRecipe(train: unknown, data: {hasVal: boolean; imageSize?: number}, origins: Origins, problems: Problem[], check: SchemaCheck): void {
  if (!isObject(train)) return
  resolveOptimizer(train, origins, problems, check)
  resolveSchedule(train, origins, problems, check)
  resolveLoss(train, origins, problems, check)
  resolveMixup(train, data.imageSize, origins, problems)
  resolveEarlyStopping(train, data.hasVal, origins, problems)
}
