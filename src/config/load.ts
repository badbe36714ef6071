/**
 * Reading specs: YAML with source positions, `extends:` chains (relative to the extending file,
 * cycles rejected), and Hydra-style `--set a.b[1].c=value` overrides whose values are parsed as YAML.
 * Every value keeps where it came from, so that validation can name file, line and column.
 *
 * Specs are untrusted input, so reading is bounded: regular files only (a device, FIFO or
 * directory is refused before it is opened for reading), at most MIXTURE_MAX_SPEC_BYTES (1 MiB),
 * duplicate keys found in one pass (a Set per mapping), aliases counted and their expansion capped,
 * nesting at most MAX_DEPTH deep and no alias inside the node it names (nesting.ts), and nothing of
 * a file that is not a spec is echoed back.
 */
import {closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode} from 'yaml'
import {clip, MAX_ECHO, type Origin, type Problem, SpecError} from './errors.js'
import {MAX_DEPTH, nestingFault, parserTooDeep, TOO_DEEP} from './nesting.js'
import {joinPath} from './key-path.js'
import {specSchema} from '../schema/spec.js'
import {displayPath} from '../fs/display-path.js'

export type Json = null | boolean | number | string | Json[] | {[key: string]: Json}
export type JsonObject = {[key: string]: Json}

/** Dotted path → where that value was written. */
export type Origins = Map<string, Origin>

export interface LoadedSpec {
  /** The merged spec (extends applied, overrides applied, `extends` removed). */
  spec: JsonObject
  origins: Origins
  /** The file given on the command line. */
  file: string
  /** Every file read, base specs first. */
  files: string[]
  /** The overrides by their dotted key, e.g. `{"train.optimizer.lr": 3e-4}` (for `overrides.yaml`). */
  overrides: JsonObject
  /**
   * Keys a null (in a spec that extends another, or a --set) removes where nothing set them: nothing
   * to remove, but validation checks that each names a key the spec has, so that a misspelt one
   * (`train.emma: null`, meant to turn the average off) is refused instead of silently doing nothing.
   */
  absentRemovals: {path: string; origin?: Origin}[]
}

/** Default size limit of a spec file (MIXTURE_MAX_SPEC_BYTES raises it). */
export const MAX_SPEC_BYTES = 2 ** 20
/** Aliases one file may use; real specs use a handful. */
export const MAX_ALIASES = 1000
/** How far aliases may expand (yaml's maxAliasCount): beyond it, an alias bomb. */
const MAX_ALIAS_EXPANSION = 10_000

export function maxSpecBytes(): number {
  const raw = process.env.MIXTURE_MAX_SPEC_BYTES
  if (raw === undefined || raw.trim() === '') return MAX_SPEC_BYTES
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n < 1) throw new SpecError([{origin: {file: 'MIXTURE_MAX_SPEC_BYTES'}, path: '', message: `must be a positive number of bytes, got "${raw}"; unset it for the default of ${MAX_SPEC_BYTES}`}])
  return n
}

/** Why `stats` is not a file to read a spec from, or undefined for a regular file. */
function notRegular(stats: Stats): string | undefined {
  if (stats.isFile()) return undefined
  const kind = stats.isDirectory() ? 'a directory' : stats.isFIFO() ? 'a FIFO (named pipe)' : stats.isCharacterDevice() || stats.isBlockDevice() ? 'a device' : stats.isSocket() ? 'a socket' : 'not a regular file'
  return `is ${kind}, not a YAML file`
}

/**
 * The text of a spec file, read only if it is a regular file within the size limit. The check is
 * made on the path and again on the opened descriptor (opened non-blocking, so a FIFO swapped in
 * between cannot hang the read).
 */
export function readSpecText(file: string): string {
  const fail = (why: string): never => {
    throw new SpecError([{origin: {file: displayPath(file)}, path: '', message: why}])
  }
  const limit = maxSpecBytes()
  const tooBig = (size: number) => `is ${size} bytes, more than a spec may be (${limit} bytes); a spec is a few kilobytes of YAML (MIXTURE_MAX_SPEC_BYTES raises the limit)`
  let stats: Stats
  try {
    stats = statSync(file)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    return fail(code === 'ENOENT' || code === 'ENOTDIR' ? 'file not found; give the path of a YAML spec (see configs/)' : `cannot be read (${code ?? (error as Error).message})`)
  }
  const kind = notRegular(stats)
  if (kind) fail(`${kind}; give the path of a YAML spec (see configs/)`)
  if (stats.size > limit) fail(tooBig(stats.size))
  let fd: number
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (error) {
    return fail(`cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
  }
  try {
    const opened = fstatSync(fd)
    const changed = notRegular(opened)
    if (changed) fail(changed)
    const buf = Buffer.alloc(Math.min(limit, opened.size) + 1)
    let length = 0
    for (let n; length < buf.length && (n = readSync(fd, buf, length, buf.length - length, null)) > 0; ) length += n
    if (length > limit) fail(tooBig(length))
    return buf.toString('utf8', 0, length)
  } finally {
    closeSync(fd)
  }
}

/** What a walk over a parsed file finds besides origins: repeated keys and aliases. */
interface WalkFindings {
  problems: Problem[]
  aliases: number
  firstAlias?: Origin
}

function walk(node: YamlNode | null | undefined, path: string, file: string, lc: LineCounter, origins: Origins, found: WalkFindings): void {
  if (!node) return
  const at = (range?: [number, number, number] | null): Origin => {
    if (!range) return {file}
    const pos = lc.linePos(range[0])
    return {file, line: pos.line, col: pos.col}
  }
  if (isAlias(node)) {
    found.aliases++
    found.firstAlias ??= at(node.range)
    return
  }
  origins.set(path, at(node.range))
  if (isMap(node)) {
    // Duplicate keys, in one pass (yaml's own check compares every pair of keys).
    const seen = new Map<string, Origin>()
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key)
      const child = joinPath(path, key)
      const keyAt = at((pair.key as YamlNode | null)?.range)
      const first = seen.get(key)
      if (first) found.problems.push({origin: keyAt, path: printablePath(child), message: `YAML syntax error: duplicate key${printableKey(key) ? '' : ' (not shown: it is not a plain name)'}, first at line ${first.line}; a mapping holds each key once`})
      else seen.set(key, keyAt)
      // Point at the key itself: that is where an unknown key or a bad value is seen.
      origins.set(child, keyAt)
      if (pair.value) walk(pair.value as YamlNode, child, file, lc, origins, found)
      if (pair.value) origins.set(child, keyAt)
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => walk(item as YamlNode, joinPath(path, i), file, lc, origins, found))
  }
}

/** Keys that may be shown in messages: plain names. Anything else (a line of some other file) is not echoed. */
export function printableKey(key: string): boolean {
  return /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/.test(key)
}

/** A dotted path with every segment that is not a plain name replaced by `<key>`. */
export function printablePath(path: string): string {
  return path.replace(/[^.[\]]+/g, (seg) => (printableKey(seg) ? seg : '<key>'))
}

/** A yaml error message without the source text it may quote (the file may not be a spec at all). */
function yamlMessage(message: string): string {
  return message.split('\n')[0].replace(/: ".*$/s, '').replace(/ at line \d+, column \d+.*$/s, '')
}

/**
 * What to add to a syntax error in a flow mapping (`{…}`) whose key holds `[`: YAML reads
 * `{model.components[1].dim: 3}` as a key that opens a list, so the mapping breaks there.
 * Nothing of the line is echoed (the file may not be a spec).
 */
function flowKeyHint(message: string, line: string, col: number): string {
  if (!/flow map/i.test(message)) return ''
  // The text from the key's start to the error's column, which is often the [ itself.
  const before = line.slice(0, col)
  const key = line.slice(Math.max(before.lastIndexOf('{'), before.lastIndexOf(',')) + 1, col + 1)
  return key.includes('[') ? `; a key with [i] in it inside { } must be quoted ({'model.components[1].dim': 3}), or written in block style (key: value on a line of its own)` : ''
}

/** The problems of a file yaml could not parse, each at its line and column. */
function syntaxProblems(doc: Document.Parsed, text: string, lc: LineCounter, shown: string): Problem[] {
  const at = (offset: number): Origin => ({file: shown, ...lc.linePos(offset)})
  // Nesting too deep for yaml's parser leaves errors after it that are only its consequence.
  const deep = doc.errors.find(parserTooDeep)
  if (deep) return [{origin: at(deep.pos[0]), path: '', message: TOO_DEEP}]
  const problems: Problem[] = []
  const hinted = new Set<number>()
  for (const e of doc.errors) {
    const origin = at(e.pos[0])
    // The errors after a hinted one on its line come of the same key.
    if (hinted.has(origin.line!)) continue
    const lineText = text.slice(lc.lineStarts[origin.line! - 1], lc.lineStarts[origin.line!] ?? text.length)
    const hint = flowKeyHint(e.message, lineText, origin.col! - 1)
    if (hint) hinted.add(origin.line!)
    // The yaml library's words for a second `---` document name its own API; say what to do instead.
    const message = /parseAllDocuments|multiple documents/i.test(e.message) ? 'a second YAML document (a line of ---) follows the first; a spec is one document: remove the --- line, or put the other spec in its own file' : `YAML syntax error: ${yamlMessage(e.message)}${hint}`
    problems.push({origin, path: '', message})
  }
  return problems
}

/** Parse one YAML file into plain data plus origins; YAML syntax errors become SpecErrors with positions. */
export function readYamlFile(file: string): {data: Json; origins: Origins} {
  const text = readSpecText(file)
  const lc = new LineCounter()
  const shown = displayPath(file)
  let doc: Document.Parsed
  try {
    doc = parseDocument(text, {lineCounter: lc, prettyErrors: false, uniqueKeys: false})
  } catch (error) {
    if (!parserTooDeep(error)) throw error
    throw new SpecError([{origin: {file: shown}, path: '', message: TOO_DEEP}])
  }
  if (doc.errors.length > 0) throw new SpecError(syntaxProblems(doc, text, lc, shown))
  const fault = nestingFault(doc)
  if (fault) throw new SpecError([{origin: {file: shown, ...lc.linePos(fault.node.range?.[0] ?? 0)}, path: printablePath(fault.path), message: fault.message}])
  const origins: Origins = new Map()
  const found: WalkFindings = {problems: [], aliases: 0}
  walk(doc.contents as YamlNode, '', shown, lc, origins, found)
  if (found.problems.length > 0) throw new SpecError(found.problems)
  if (found.aliases > MAX_ALIASES) {
    throw new SpecError([{origin: found.firstAlias, path: '', message: `uses ${found.aliases} YAML aliases (*name), more than a spec needs (at most ${MAX_ALIASES}); write the values out, or share them with extends:`}])
  }
  let data: Json
  try {
    data = (doc.toJS({maxAliasCount: MAX_ALIAS_EXPANSION}) ?? {}) as Json
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error
    const why = /resource exhaustion/.test(error.message) ? `its YAML aliases expand to more than ${MAX_ALIAS_EXPANSION} nodes (an alias bomb?)` : yamlMessage(error.message)
    throw new SpecError([{origin: found.firstAlias ?? {file: shown}, path: '', message: `YAML alias error: ${why}; write the values out, or share them with extends:`}])
  }
  return {data, origins}
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** What a merge removed: the keys it took out (`removed`), and those a null named where nothing set them (`absent`). */
export interface Removals {
  removed: string[]
  absent: string[]
}

/**
 * Deep merge, as JSON Merge Patch (RFC 7386): objects merge key by key, a key set to null in `over`
 * is removed (so it takes its default: `train: {ema: null}` in a child turns off its base's average),
 * also inside a mapping the base does not have, and everything else (arrays included) is replaced.
 * The dotted paths of removed keys are pushed to `removals.removed` (their origins are dropped with
 * them), those of nulls with nothing to remove to `removals.absent` (validation checks them).
 */
export function deepMerge(base: Json, over: Json, removals: Removals = {removed: [], absent: []}, at = ''): Json {
  if (!isObject(base) || !isObject(over)) return structuredClone(over)
  const out: JsonObject = {...base}
  for (const [k, v] of Object.entries(over)) {
    const path = joinPath(at, k)
    if (v === null) {
      if (Object.hasOwn(out, k)) {
        delete out[k]
        removals.removed.push(path)
      } else removals.absent.push(path)
      continue
    }
    // A mapping the base lacks is merged over an empty one, so that the nulls in it remove (nothing) as everywhere else.
    const merged = Object.hasOwn(base, k) ? deepMerge(base[k], v, removals, path) : isObject(v) ? deepMerge({}, v, removals, path) : structuredClone(v)
    // Defined, not assigned: a key named __proto__ stays a key (which validation then refuses) instead of setting the prototype.
    Object.defineProperty(out, k, {value: merged, enumerable: true, writable: true, configurable: true})
  }
  return out
}

/** Drop the origins of `path` and of everything under it. */
function forgetOrigins(origins: Origins, path: string): void {
  for (const k of [...origins.keys()]) if (k === path || k.startsWith(`${path}.`) || k.startsWith(`${path}[`)) origins.delete(k)
}

/** The top-level keys a spec may have. */
const SPEC_KEYS = Object.keys(specSchema.properties as object)

function mergeOrigins(into: Origins, from: Origins): void {
  for (const [k, v] of from) into.set(k, v)
}

function loadChain(file: string, seen: string[]): {data: JsonObject; origins: Origins; files: string[]; absent: LoadedSpec['absentRemovals']} {
  const abs = resolve(file)
  if (seen.includes(abs)) {
    throw new SpecError([{origin: {file: displayPath(abs)}, path: 'extends', message: `extends cycle: ${[...seen, abs].map(displayPath).join(' → ')}; remove one of these extends`}])
  }
  const {data, origins} = readYamlFile(abs)
  if (!isObject(data)) {
    throw new SpecError([{origin: origins.get('') ?? {file: displayPath(abs)}, path: '', message: `a spec must be a YAML mapping (key: value lines), not ${Array.isArray(data) ? 'a list' : typeof data}`}])
  }
  const keys = Object.keys(data)
  if (keys.length === 0) {
    throw new SpecError([{origin: origins.get('') ?? {file: displayPath(abs)}, path: '', message: 'is empty: a spec gives at least name, data and model (configs/quickstart.yaml is a small one to start from)'}])
  }
  if (!keys.some((k) => SPEC_KEYS.includes(k))) {
    // Not one spec key: some other file. Say so once, without echoing its content.
    const hint = keys.includes('sweep') ? '; a sweep file is run with mixture sweep' : ''
    throw new SpecError([{origin: origins.get('') ?? {file: displayPath(abs)}, path: '', message: `is not a mixture spec: none of its ${keys.length} top-level key(s) is a spec key (${SPEC_KEYS.join(', ')})${hint}`}])
  }
  const parent = data.extends
  if (parent === undefined) return {data, origins, files: [abs], absent: []}
  if (typeof parent !== 'string') {
    throw new SpecError([{origin: origins.get('extends'), path: 'extends', message: 'must be the path of a base spec (a string)'}])
  }
  const parentPath = resolve(dirname(abs), parent)
  let base
  try {
    base = loadChain(parentPath, [...seen, abs])
  } catch (error) {
    const problem = error instanceof SpecError && error.problems.length === 1 ? error.problems[0] : undefined
    if (problem?.message.startsWith('file not found')) {
      throw new SpecError([{origin: origins.get('extends'), path: 'extends', message: `base spec ${displayPath(parentPath)} not found (paths are relative to the extending file)`}])
    }
    // The base file cannot be read at all (device, directory, too large): say so at the extends line.
    if (problem && problem.origin?.file === displayPath(parentPath) && problem.origin.line === undefined) {
      throw new SpecError([{origin: origins.get('extends'), path: 'extends', message: `base spec ${displayPath(parentPath)} ${problem.message}`}])
    }
    throw error
  }
  const {extends: _ignored, ...rest} = data
  const removals: Removals = {removed: [], absent: []}
  const merged = deepMerge(base.data, rest, removals) as JsonObject
  const mergedOrigins = new Map(base.origins)
  mergeOrigins(mergedOrigins, origins)
  for (const path of removals.removed) forgetOrigins(mergedOrigins, path)
  mergedOrigins.delete('extends')
  const absent = [...base.absent, ...removals.absent.map((path) => ({path, origin: origins.get(path)}))]
  return {data: merged, origins: mergedOrigins, files: [...base.files, abs], absent}
}

/** Names that are not keys of a spec but properties every JavaScript object inherits: never a path's segment. */
const INHERITED = new Set(['__proto__', 'constructor', 'prototype'])

/** A dotted path: keys, each followed by any `[i]` list indices (`model.components[1].depth`). */
const KEY_PATH = /^[^.[\]]+(\[\d+\])*(\.[^.[\]]+(\[\d+\])*)*$/

/** Split `a.b[2].c` into keys and indices; a path that is not of that form, or goes through an inherited name, throws. */
export function parsePath(path: string): (string | number)[] {
  if (!KEY_PATH.test(path)) throw new Error(`bad key path "${path}"`)
  const out: (string | number)[] = []
  const re = /([^.[\]]+)|\[(\d+)\]/g
  let m: RegExpExecArray | null
  let consumed = ''
  while ((m = re.exec(path))) {
    out.push(m[2] !== undefined ? Number(m[2]) : m[1])
    consumed += m[0]
  }
  if (out.length === 0 || consumed.length !== path.replace(/\./g, '').length) throw new Error(`bad key path "${path}"`)
  const inherited = out.find((k) => typeof k === 'string' && INHERITED.has(k))
  if (inherited !== undefined) throw new Error(`"${inherited}" is not a spec key`)
  return out
}

export interface Override {
  path: string
  value: Json
  /** The value is null written as `null` or nothing (`key=`): the key is removed. A bare `~` is not: it stays a null value, which a path refuses saying that ~ alone is not the home folder. */
  removes: boolean
  /** As written, for messages. */
  text: string
}

/** Parse `key=value` (value as YAML; `key=` and `key=null` remove the key: see applyOverride). */
export function parseOverride(text: string): Override {
  const eq = text.indexOf('=')
  if (eq <= 0) throw new SpecError([{origin: {file: '--set'}, path: '', message: `"${clip(text)}" is not key=value; write e.g. --set train.optimizer.lr=3e-4`}])
  const path = text.slice(0, eq).trim()
  let keys: (string | number)[]
  try {
    keys = parsePath(path)
  } catch (error) {
    const why = /is not a spec key/.test((error as Error).message) ? `${(error as Error).message}; ` : ''
    throw new SpecError([{origin: {file: '--set'}, path, message: `"${clip(path)}" is not a key path: ${why}write dotted keys with [i] for list items, e.g. model.components[1].depth`}])
  }
  if (keys.length > MAX_DEPTH) {
    throw new SpecError([{origin: {file: '--set'}, path, message: `is ${keys.length} keys deep, more than a spec nests (at most ${MAX_DEPTH} keys and list items within one another); give the path of a key the spec has, e.g. model.components[1].depth`}])
  }
  const raw = text.slice(eq + 1)
  // yaml's parser overflows only far past MAX_DEPTH.
  const tooDeep = () => new SpecError([{origin: {file: '--set'}, path, message: `the value ${TOO_DEEP}`}])
  const invalid = (why: string) => new SpecError([{origin: {file: '--set'}, path, message: `value "${clip(raw)}" is not valid YAML: ${why.split('\n')[0]}; quote it to pass text, e.g. --set '${path}="${raw.length > MAX_ECHO ? '…' : raw.replace(/"/g, '\\"')}"'`}])
  let doc: Document.Parsed
  try {
    doc = parseDocument(raw === '' ? 'null' : raw)
  } catch (error) {
    if (parserTooDeep(error)) throw tooDeep()
    throw error
  }
  if (doc.errors.some(parserTooDeep)) throw tooDeep()
  if (doc.errors.length > 0) throw invalid(doc.errors[0].message)
  const fault = nestingFault(doc, path, keys.length)
  if (fault) throw new SpecError([{origin: {file: '--set'}, path: printablePath(fault.path), message: fault.message}])
  try {
    const value = doc.toJS() as Json
    return {path, value, removes: value === null && raw.trim() !== '~', text}
  } catch (error) {
    // Errors that only converting shows, e.g. an alias (*a) without its anchor.
    throw invalid((error as Error).message)
  }
}

/**
 * What to say where key `keys[i]` of a --set path names something in the list at `listPath`: a
 * list's items are written [i], and `model.components.1` is most likely item 1 written as a key.
 */
function keyIntoList(keys: (string | number)[], i: number, listPath: string): string {
  const key = String(keys[i])
  if (!/^\d+$/.test(key)) return `is a list, so it has no key "${clip(key)}"; write a list item as [i], e.g. ${listPath}[0]`
  const meant = keys.reduce<string>((path, k, j) => joinPath(path, j === i ? Number(k) : k), '')
  return `is a list: write its item ${key} as ${listPath}[${key}], e.g. --set ${meant}=…`
}

/**
 * Apply one override in place. The parent must exist; a missing leaf is created (validation then
 * judges the key). A removal (`o.removes`) creates nothing: a key that is not there, or under a
 * mapping that is not there, is returned as absent (validation checks that it names a spec key).
 */
export function applyOverride(spec: JsonObject, o: Override, origins: Origins): {absent?: string} {
  const keys = parsePath(o.path)
  let node: Json = spec
  let walked = ''
  for (let i = 0; i < keys.length - 1; i++) {
    const k = keys[i]
    let next: Json | undefined
    if (typeof k === 'string' && Array.isArray(node)) throw new SpecError([{origin: {file: `--set ${o.text}`}, path: walked, message: keyIntoList(keys, i, walked)}])
    walked = joinPath(walked, k)
    if (o.removes && typeof k === 'string' && isObject(node) && !Object.hasOwn(node, k)) return {absent: o.path}
    if (typeof k === 'number') next = Array.isArray(node) ? node[k] : undefined
    else if (isObject(node)) {
      if (!Object.hasOwn(node, k)) {
        node[k] = {}
        // A key the override made: a problem with it (an unknown key) points at the override.
        origins.set(walked, {file: `--set ${o.text}`})
      }
      next = node[k]
    }
    if (next === undefined || next === null || typeof next !== 'object') {
      throw new SpecError([{origin: {file: `--set ${o.text}`}, path: walked, message: typeof k === 'number' ? `no list item ${k} here (the list has ${Array.isArray(node) ? node.length : 0} items)` : `is ${clip(JSON.stringify(next) ?? String(next))}, so it has no key "${clip(String(keys[i + 1]))}"`}])
    }
    node = next
  }
  const last = keys[keys.length - 1]
  if (typeof last === 'number') {
    if (!Array.isArray(node) || last > node.length) throw new SpecError([{origin: {file: `--set ${o.text}`}, path: o.path, message: 'no such list item'}])
    node[last] = o.value
  } else {
    if (Array.isArray(node)) throw new SpecError([{origin: {file: `--set ${o.text}`}, path: walked, message: keyIntoList(keys, keys.length - 1, walked)}])
    if (!isObject(node)) throw new SpecError([{origin: {file: `--set ${o.text}`}, path: o.path, message: 'parent is not a mapping'}])
    // Null removes the key (its default applies), as in extends: `--set train.ema=null` turns the average off.
    if (o.removes) {
      if (!Object.hasOwn(node, last)) return {absent: o.path}
      delete node[last]
    } else node[last] = o.value
  }
  forgetOrigins(origins, o.path)
  origins.set(o.path, {file: `--set ${o.text}`})
  return {}
}

/** The overrides by their dotted key (`{"train.optimizer.lr": 3e-4}`), for `overrides.yaml`. */
export function overridesObject(overrides: Override[]): JsonObject {
  const out: JsonObject = {}
  for (const o of overrides) out[o.path] = o.value
  return out
}

/** Load a spec file with its extends chain and overrides applied. */
export function loadSpec(file: string, sets: string[] = []): LoadedSpec {
  const {data, origins, files, absent} = loadChain(file, [])
  const overrides = sets.map(parseOverride)
  const absentRemovals = [...absent]
  for (const o of overrides) {
    const applied = applyOverride(data, o, origins)
    if (applied.absent) absentRemovals.push({path: applied.absent, origin: {file: `--set ${o.text}`}})
  }
  return {spec: data, origins, file: resolve(file), files, overrides: overridesObject(overrides), absentRemovals}
}

export function originOf(origins: Origins, path: string): Origin | undefined {
  // The value itself, else its nearest ancestor that was written somewhere.
  for (let p = path; ; ) {
    const o = origins.get(p)
    if (o) return o
    if (!p) return undefined
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['))
    p = cut > 0 ? p.slice(0, cut) : ''
  }
}

export type {Problem}
