/**
 * Two-stage validation with ajv. Stage 1 checks the spec against `specSchema` (and fills its
 * defaults); stage 2 resolves the model and every block part through the registry, applies presets,
 * and checks their parameters against each plugin's own schema (filling its defaults), and the
 * optimizer and schedule against their type's (recipe.ts). Problems are collected, not thrown one by
 * one, and each names file:line:col and the dotted path.
 */
import {dirname, resolve} from 'node:path'
import {Ajv, type ErrorObject, type ValidateFunction} from 'ajv'
import {lookup, names, namesInOrder, RegistryError, resolvePreset, type EntryKind, type JsonSchema} from '../registry/registry.js'
import {clip, type Origin, type Problem, SpecError, unknownEntry} from './errors.js'
import {suggest} from './suggest.js'
import {expandHome} from '../fs/home-path.js'
import {displayPath} from '../fs/display-path.js'
import {isObject, originOf, parsePath, printableKey, printablePath, type Json, type JsonObject, type LoadedSpec, type Origins} from './load.js'
import {joinPath} from './key-path.js'
import {DATA_KEYS, MODEL_META_KEYS, PART_META_KEYS, specSchema, type DataOptions, type ResolvedSpec} from '../schema/spec.js'
import {resolveRecipe} from './recipe.js'
import {unitRangeProblems} from '../data/pipeline.js'

const ajv = new Ajv({allErrors: true, useDefaults: true, strict: false})
const compiled = new WeakMap<object, ValidateFunction>()

/** `schema` compiled once (ajv, defaults filled in); a schema ajv cannot compile throws ajv's error. */
export function validator(schema: JsonSchema): ValidateFunction {
  let v = compiled.get(schema)
  if (!v) {
    v = ajv.compile(schema)
    compiled.set(schema, v)
  }
  return v
}

/** The schema node that `instancePath` (relative to `schema`) points at, for listing allowed keys. */
function schemaAt(schema: JsonSchema, segments: string[]): JsonSchema | undefined {
  let node: JsonSchema | undefined = schema
  for (const seg of segments) {
    if (!node) return undefined
    const props = node.properties as Record<string, JsonSchema> | undefined
    if (props && seg in props) node = props[seg]
    else if (node.items && /^\d+$/.test(seg)) node = node.items as JsonSchema
    else if (node.additionalProperties && typeof node.additionalProperties === 'object') node = node.additionalProperties as JsonSchema
    else return undefined
  }
  return node
}

function dotted(base: string, instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((p, s) => joinPath(p, /^\d+$/.test(s) ? Number(s) : s), base)
}

function describe(value: unknown): string {
  return clip(typeof value === 'number' && !Number.isFinite(value) ? String(value) : (JSON.stringify(value) ?? String(value)))
}

/**
 * Problems that say a value has no place where it is: of a kind its key never takes (a number for a
 * name, a mapping), or under a key that does not exist. A non-finite number there, or below, is
 * beside the point, so these are reported instead of it (see `validateSpec`).
 */
const misplaced = new WeakSet<Problem>()

/** Whether an ajv error says the value is of the wrong kind for its place, or has no place. */
function refusesPlace(e: ErrorObject): boolean {
  const numeric = (values: unknown[]) => values.some((v) => v === 'number' || v === 'integer' || typeof v === 'number')
  switch (e.keyword) {
    case 'additionalProperties':
      return true
    case 'type':
      return !numeric(([] as unknown[]).concat((e.params as {type: string | string[]}).type))
    case 'enum':
      return !(e.params as {allowedValues: unknown[]}).allowedValues.some((v) => typeof v === 'number')
    case 'const':
      return typeof (e.params as {allowedValue: unknown}).allowedValue !== 'number'
    default:
      return false
  }
}

/**
 * Every number that is not finite (YAML's .inf and .nan, or 1e400, which overflows to Infinity),
 * as a problem each: no bound in the schema can hold them.
 */
function nonFiniteProblems(value: unknown, path: string, origins: Origins, out: Problem[]): void {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    out.push({origin: originOf(origins, path), path: printablePath(path), message: `must be a finite number, not ${value} (YAML reads .inf, .nan and numbers beyond ±1.8e308 as such)`})
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => nonFiniteProblems(v, joinPath(path, i), origins, out))
  } else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) nonFiniteProblems(v, joinPath(path, k), origins, out)
  }
}

function ajvProblems(errors: ErrorObject[], schema: JsonSchema, data: unknown, base: string, origins: Origins): Problem[] {
  const problems: Problem[] = []
  const seen = new Set<string>()
  // Errors under a oneOf are noise when the oneOf itself is reported.
  const oneOfPaths = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath))
  for (const e of errors) {
    if (e.keyword !== 'oneOf' && [...oneOfPaths].some((p) => e.instancePath === p || e.instancePath.startsWith(`${p}/`))) continue
    const segments = e.instancePath.split('/').slice(1)
    let path = dotted(base, e.instancePath)
    const value = segments.reduce<unknown>((v, s) => (v as Record<string, unknown>)?.[s], data)
    let message: string
    switch (e.keyword) {
      case 'additionalProperties': {
        const key = (e.params as {additionalProperty: string}).additionalProperty
        path = joinPath(path, key)
        const allowed = Object.keys((schemaAt(schema, segments)?.properties as object) ?? {})
        const guess = printableKey(key) ? suggest(key, allowed) : undefined
        message = `unknown key${printableKey(key) ? '' : ' (not shown: it is not a plain name)'}${guess ? `, did you mean ${guess}?` : `; allowed keys here: ${allowed.join(', ') || '(none)'}`}`
        break
      }
      case 'required':
        path = joinPath(path, (e.params as {missingProperty: string}).missingProperty)
        message = 'required key is missing'
        break
      case 'type': {
        const types = ([] as string[]).concat((e.params as {type: string | string[]}).type)
        message = `must be ${types.join(' or ')} (got ${describe(value)})`
        // `~` alone is YAML's null, not the home folder.
        if (value === null && types.includes('string')) message += '; YAML reads an empty value, null and ~ as null: write the text (quoted, if it is one of those), and a folder under your home as ~/…'
        else if (value === null) message += nullHint(path, originOf(origins, path))
        // `run --set lr=1e-3,1e-2`: comma lists are what `sweep` takes (one run per value), and `--seeds` for seeds.
        if (typeof value === 'string' && value.includes(',') && !types.includes('string') && originOf(origins, path)?.file.startsWith('--set')) {
          message += path === 'seed' ? `; to train one run per seed, use --seeds ${value}` : `; to train one run per value, use mixture sweep with the same --set (a comma list is a sweep's axis)`
        }
        break
      }
      case 'enum': {
        const allowed = (e.params as {allowedValues: unknown[]}).allowedValues
        const guess = typeof value === 'string' ? suggest(value, allowed.map(String)) : undefined
        message = `must be one of ${allowed.map(describe).join(', ')} (got ${describe(value)})${guess ? `; did you mean ${guess}?` : ''}`
        break
      }
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        message = `must be ${(e.params as {comparison: string}).comparison} ${(e.params as {limit: number}).limit} (got ${describe(value)})`
        break
      case 'oneOf':
        message = `is ${describe(value)}, which matches none of the allowed forms (${(schemaAt(schema, segments)?.description as string) ?? 'see mixture schema'})`
        break
      case 'pattern': {
        // A schema node may say in words what its pattern wants (`patternMessage`, which ajv ignores).
        const said = schemaAt(schema, segments)?.patternMessage
        message = typeof said === 'string' ? `${describe(value)} ${said}` : `${e.message ?? 'is invalid'} (got ${describe(value)})`
        break
      }
      case 'const':
        message = `must be ${describe((e.params as {allowedValue: unknown}).allowedValue)}`
        break
      default:
        message = `${e.message ?? 'is invalid'} (got ${describe(value)})`
    }
    const key = `${path}|${message}`
    if (seen.has(key)) continue
    seen.add(key)
    const problem = {origin: originOf(origins, path), path: printablePath(path), message}
    if (refusesPlace(e)) misplaced.add(problem)
    problems.push(problem)
  }
  return problems
}

/**
 * The problems of `data` against `schema` (ajv fills its defaults in place), each with its dotted
 * path under `base` and the file:line `origins` gives it: for documents checked beside specs (a
 * sweep file's launcher settings).
 */
export function schemaProblems(schema: JsonSchema, data: unknown, base: string, origins: Origins): Problem[] {
  const validate = validator(schema)
  return validate(data) ? [] : ajvProblems(validate.errors ?? [], schema, data, base, origins)
}

/** A resolved block part or model: `type`, the preset that was applied (if any), then every parameter. */
export type ResolvedPart = {type: string; preset?: string} & Record<string, unknown>

/** Resolve one `{type, preset?, ...params}` against the registry; returns the flat part with defaults filled. */
function resolvePart(kind: EntryKind, raw: Json, path: string, origins: Origins, problems: Problem[], metaKeys: readonly string[] = PART_META_KEYS): ResolvedPart | undefined {
  if (!isObject(raw) || typeof raw.type !== 'string') {
    const problem = {origin: originOf(origins, path), path, message: `must be a mapping with a "type" (a registered ${kind}: ${names(kind).join(', ')})`}
    misplaced.add(problem)
    problems.push(problem)
    return undefined
  }
  const entry = lookup(kind, raw.type)
  if (!entry) {
    problems.push({origin: originOf(origins, joinPath(path, 'type')), path: joinPath(path, 'type'), message: unknownEntry(kind, raw.type, names(kind))})
    return undefined
  }
  // Keys defined, not assigned, so that one named __proto__ stays a key the schema refuses.
  const meta: Record<string, Json> = Object.fromEntries(Object.entries(raw).filter(([k]) => metaKeys.includes(k)))
  const params: JsonObject = Object.fromEntries(Object.entries(raw).filter(([k]) => !metaKeys.includes(k)))
  let preset: Record<string, unknown> = {}
  if (typeof meta.preset === 'string') {
    try {
      preset = resolvePreset(entry, meta.preset)
    } catch (error) {
      // The registry's message quotes the preset as written, which may be any length.
      const message = (error as RegistryError).message.split(`"${meta.preset}"`).join(`"${clip(meta.preset)}"`)
      problems.push({origin: originOf(origins, joinPath(path, 'preset')), path: joinPath(path, 'preset'), message})
      return undefined
    }
  }
  const merged = {...structuredClone(preset), ...params} as JsonObject
  const validate = validator(entry.schema)
  if (!validate(merged)) {
    problems.push(...ajvProblems(validate.errors ?? [], entry.schema, merged, path, origins))
    return undefined
  }
  return {...meta, ...merged} as ResolvedPart
}

/** A path written in a spec, made absolute against the file that wrote it (the working folder for --set); `~/` is the home folder. */
function absolutePath(value: string, path: string, origins: Origins): string {
  const declaredIn = originOf(origins, path)?.file
  const base = declaredIn && !declaredIn.startsWith('--set') ? resolve(declaredIn) : resolve('--set')
  return resolve(dirname(base), expandHome(value))
}

/**
 * `train.init_from` in its one resolved form, `{path, skip, strict[, weights]}` (a path alone is the
 * shorthand), the path made absolute against the spec that wrote it. Whether the checkpoint is there
 * and fits is checked where the model is built (run/fine-tune.ts): a resumed or evaluated run does
 * not need it.
 */
function resolveInitFrom(train: unknown, origins: Origins): void {
  if (!isObject(train) || train.init_from === undefined) return
  const given = train.init_from
  const init = typeof given === 'string' ? {path: given} : given
  if (!isObject(init) || typeof init.path !== 'string') return // stage 1 reported it
  const path = absolutePath(init.path, typeof given === 'string' ? 'train.init_from' : 'train.init_from.path', origins)
  train.init_from = {path, skip: (init.skip as Json[] | undefined) ?? [], strict: init.strict ?? true, ...(init.weights !== undefined ? {weights: init.weights} : {})}
}

/**
 * Stage 2 of `data:`: the dataset through the registry (the keys that are not shared by every
 * dataset against its schema, defaults filled, paths made absolute), the class folders or files it
 * needs to count classes, `image_size` from the images when the spec gives none and the dataset can
 * tell, and each transform of an `augment` list (did-you-mean, parameters, defaults, and its place:
 * one that needs [0, 1] pixels, after one that leaves that range, is refused).
 */
function resolveData(data: JsonObject, sizeGiven: boolean, sharedChecked: boolean, origins: Origins, problems: Problem[]): void {
  const name = data.dataset as string
  const entry = lookup('dataset', name)
  if (!entry) {
    problems.push({origin: originOf(origins, 'data.dataset'), path: 'data.dataset', message: unknownEntry('dataset', name, namesInOrder('dataset'))})
  }
  if (Array.isArray(data.augment)) {
    data.augment = data.augment.map((item, i) => {
      const path = `data.augment[${i}]`
      const part = resolvePart('transform', typeof item === 'string' ? {type: item} : item, path, origins, problems)
      if (!part) return item
      const {type, ...params} = part
      try {
        lookup('transform', type)!.create(params)
      } catch (error) {
        problems.push({origin: originOf(origins, path), path, message: (error as Error).message})
      }
      return part as JsonObject
    })
    // A policy (uint8 pixels) after normalize, say: named at the misplaced item.
    const types = data.augment.map((item) => (typeof item === 'string' ? item : isObject(item) && typeof item.type === 'string' ? item.type : undefined))
    for (const {index, message} of unitRangeProblems(types)) {
      const path = `data.augment[${index}]`
      problems.push({origin: originOf(origins, path), path, message})
    }
  }
  if (!entry) return
  // fromEntries defines keys: one named __proto__ stays a key (refused below), where assigning it would set the prototype.
  const params: JsonObject = Object.fromEntries(Object.entries(data).filter(([k]) => !DATA_KEYS.includes(k)))
  const validate = validator(entry.schema)
  if (!validate(params)) {
    const keys = {type: 'object', properties: {...(specSchema.properties as {data: JsonSchema}).data.properties as object, ...(entry.schema.properties as object)}}
    problems.push(...ajvProblems(validate.errors ?? [], keys, params, 'data', origins))
    return
  }
  Object.assign(data, params)
  // Paths relative to the spec that wrote them (not to where mixture runs): the dataset's own, and data_dir.
  for (const k of [...(entry.pathParams ?? []), 'data_dir']) if (typeof data[k] === 'string') data[k] = absolutePath(data[k] as string, `data.${k}`, origins)
  const at = entry.pathParams?.length ? `data.${entry.pathParams[0]}` : 'data.dataset'
  // Stage 1 checked the shared keys and stage 2 the dataset's own (so far): what a hook throws for a value they let through is reported below.
  // Where stage 1 refused a shared key (a label_mode that is not a name), the hook would only refuse it again, in its words, at another line.
  if (!sharedChecked) return
  const options = data as unknown as DataOptions
  try {
    entry.classNames(options)
    if (!sizeGiven && entry.nativeImageSize) data.image_size = entry.nativeImageSize(options)
  } catch (error) {
    problems.push({origin: originOf(origins, at), path: at, message: (error as Error).message})
  }
}

/** Whether the resolved data hold a validation split: `data.val_split` > 0, or the dataset's own (its hasValidationSplit hook). */
function hasValidationSplit(data: unknown, dataProblems: Problem[]): boolean {
  if (!isObject(data)) return false
  if (typeof data.val_split === 'number' && data.val_split > 0) return true
  const entry = typeof data.dataset === 'string' ? lookup('dataset', data.dataset) : undefined
  if (!entry?.hasValidationSplit || dataProblems.length > 0) return false
  try {
    return entry.hasValidationSplit(data as unknown as DataOptions)
  } catch {
    return false // what is wrong with the data was said by resolveData
  }
}

/** Whether dotted `path` is `at` or below it. */
function within(path: string, at: string): boolean {
  return path === at || path.startsWith(`${at}.`) || path.startsWith(`${at}[`)
}

/** Dotted `path` and every path above it: `a.b[1]`, `a.b`, `a`. */
function andAbove(path: string): string[] {
  const out = [path]
  for (let p = path, cut; (cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['))) > 0; ) out.push((p = p.slice(0, cut)))
  return out
}

/**
 * Stage 1 + stage 2. Throws a SpecError listing every problem found. `readData: false` leaves the
 * dataset's hooks that look at the data (classNames, nativeImageSize, hasValidationSplit) uncalled:
 * a run folder's config.yaml, opened where its data are not (the run recorded its classes).
 */
export function validateSpec(loaded: LoadedSpec, {readData = true}: {readData?: boolean} = {}): ResolvedSpec {
  const spec = structuredClone(loaded.spec)
  const {origins} = loaded
  const problems: Problem[] = []
  const nonFinite: Problem[] = []
  nonFiniteProblems(spec, '', origins, nonFinite)
  const validate = validator(specSchema)
  if (!validate(spec)) problems.push(...ajvProblems(validate.errors ?? [], specSchema, spec, '', origins))
  problems.push(...unknownRemovals(loaded.absentRemovals ?? []))

  const data = spec.data
  // The data first: whether they hold a validation split of their own decides the recipe's early-stopping default.
  const dataProblems: Problem[] = []
  if (isObject(data) && typeof data.dataset === 'string') {
    const sizeGiven = isObject(loaded.spec.data) && loaded.spec.data.image_size !== undefined
    const sharedChecked = ![...problems, ...nonFinite].some((p) => within(p.path, 'data'))
    resolveData(data, sizeGiven, sharedChecked && readData, origins, dataProblems)
  }
  // Without reading the data (a run folder's config.yaml, checked when it trained), a validation split is taken to be there.
  const imageSize = isObject(data) && typeof data.image_size === 'number' ? data.image_size : undefined
  resolveRecipe(spec.train, {hasVal: !readData || hasValidationSplit(data, dataProblems), imageSize}, origins, problems, (schema, value, path) => {
    const check = validator(schema)
    if (check(value)) return true
    problems.push(...ajvProblems(check.errors ?? [], schema, value, path, origins))
    return false
  })
  problems.push(...dataProblems)
  resolveInitFrom(spec.train, origins)

  const model = spec.model
  if (isObject(model) && typeof model.type === 'string') {
    const resolved = resolvePart('model', model, 'model', origins, problems, MODEL_META_KEYS)
    if (resolved && resolved.type === 'mixture') {
      const parts = resolved as Record<string, unknown>
      const block = lookup('block', String(parts.block))
      if (!block) {
        const guess = suggest(String(parts.block), names('block'))
        problems.push({origin: originOf(origins, 'model.block'), path: 'model.block', message: `unknown block "${parts.block}"${guess ? `, did you mean ${guess}?` : ''}; registered: ${names('block').join(', ')}`})
      }
      parts.components = (parts.components as Json[]).map((c, i) => resolvePart('component', c, `model.components[${i}]`, origins, problems) ?? c)
      parts.adapter = resolvePart('adapter', parts.adapter as Json, 'model.adapter', origins, problems) ?? parts.adapter
      parts.norm = resolvePart('norm', parts.norm as Json, 'model.norm', origins, problems) ?? parts.norm
      parts.head = resolvePart('head', parts.head as Json, 'model.head', origins, problems) ?? parts.head
    }
    if (resolved) spec.model = resolved as JsonObject
  }
  if (isObject(spec.output) && typeof spec.output.dir === 'string') spec.output.dir = expandHome(spec.output.dir)
  // A non-finite number where a number belongs is reported once, as such, not again by the bounds
  // it also breaks; where none belongs, or under a key that does not exist, by what says so.
  const placeRefused = new Set(problems.filter((p) => misplaced.has(p)).map((p) => p.path))
  const shown = nonFinite.filter((n) => !andAbove(n.path).some((at) => placeRefused.has(at)))
  const asSuch = new Set(shown.map((n) => n.path))
  const reported = inFileOrder([...shown, ...problems.filter((p) => !asSuch.has(p.path))], loaded)
  if (reported.length > 0) throw new SpecError(reported, displayPath(loaded.file))
  return spec as unknown as ResolvedSpec
}

/**
 * What to say of a null where a value belongs: null removes a key only where something is merged
 * over (a base spec, a --set), and in a --set `~` alone stays a value (it may be meant as the home
 * folder) and a list item is never removed.
 */
function nullHint(path: string, origin: Origin | undefined): string {
  const set = origin?.file.startsWith('--set ') ? origin.file.slice('--set '.length) : undefined
  if (set !== undefined && /\]$/.test(path)) return '; a list item cannot be removed: give the whole list without it'
  if (set !== undefined && /=\s*~\s*$/.test(set)) return `; in a --set, ~ alone is not taken as null (it may be meant as the home folder, which is ~/…): to remove the key write ${path}=null`
  return '; to leave it unset, leave the key out (null removes a key only from a base spec, in a file with extends:, or with --set key=null)'
}

/**
 * A null that removes a key nothing set (load.ts `absentRemovals`) changes nothing, rightly, where
 * the key is one the spec may have; where it is none (misspelt: `train.emma: null`, meant to turn the
 * average off) it is refused as an unknown key would be. Under a part whose keys a plugin's schema
 * decides (a component's, a dataset's), it is not judged: validation of that part has not run.
 */
function unknownRemovals(absent: LoadedSpec['absentRemovals']): Problem[] {
  const problems: Problem[] = []
  for (const {path, origin} of absent) {
    let node: JsonSchema | undefined = specSchema as unknown as JsonSchema
    let walked = ''
    for (const key of parsePath(path)) {
      const props = node?.properties as Record<string, JsonSchema> | undefined
      if (typeof key === 'number') {
        node = node?.items as JsonSchema | undefined
        walked = joinPath(walked, key)
        continue
      }
      // An open part (a plugin's parameters, a free mapping): its keys are not the spec schema's to judge.
      if (!props || node?.additionalProperties !== false) break
      if (!(key in props)) {
        const guess = printableKey(key) ? suggest(key, Object.keys(props)) : undefined
        const at = joinPath(walked, key)
        problems.push({origin, path: at, message: `unknown key${guess ? `, did you mean ${guess}?` : `; allowed keys here: ${Object.keys(props).join(', ')}`} (null removes a key the spec has; this one it cannot have, so nothing would change)`})
        break
      }
      node = props[key]
      walked = joinPath(walked, key)
    }
  }
  return problems
}

/**
 * Problems in the order a reader meets them: the files of the extends chain base first, each by
 * line and column, then the --set overrides in their order, then problems with no place. The
 * checks run stage by stage (schema, components, data, recipe), which is no order to read in.
 */
export function inFileOrder(problems: Problem[], loaded: Pick<LoadedSpec, 'files' | 'overrides'>): Problem[] {
  const files = loaded.files.map(displayPath)
  const sets = Object.keys(loaded.overrides)
  const rank = (p: Problem): [number, number, number] => {
    const o = p.origin
    if (!o) return [Number.MAX_SAFE_INTEGER, 0, 0]
    const file = files.indexOf(o.file)
    // A --set: after the files, in the order the flags came (another place: after them, as met).
    if (file < 0) {
      const set = o.file.startsWith('--set ') ? sets.indexOf(o.file.slice('--set '.length).split('=')[0].trim()) : -1
      return [files.length + (set < 0 ? sets.length : set), 0, 0]
    }
    return [file, o.line ?? 0, o.col ?? 0]
  }
  const ranked = problems.map((p, i) => ({p, i, r: rank(p)}))
  ranked.sort((a, b) => a.r[0] - b.r[0] || a.r[1] - b.r[1] || a.r[2] - b.r[2] || a.i - b.i)
  return ranked.map(({p}) => p)
}
