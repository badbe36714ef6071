/**
 * Reading specs: YAML with source positions, `extends:` chains (relative to the extending file,
 * cycles rejected), and Hydra-style `--set a.b[1].c=value` overrides whose values are parsed as YAML.
 * Every value keeps where it came from, so that validation can name file, line and column.
 */
import {readFileSync} from 'node:fs'
import {dirname, isAbsolute, relative, resolve} from 'node:path'
import {isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode} from 'yaml'
import {type Origin, type Problem, SpecError} from './errors.js'

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
  /** The overrides as a nested object (for `overrides.yaml`). */
  overrides: JsonObject
}

export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file)
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file
}

export function joinPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`
  return parent ? `${parent}.${key}` : key
}

function walk(node: YamlNode | null | undefined, path: string, file: string, lc: LineCounter, origins: Origins): void {
  if (!node) return
  const at = (range?: [number, number, number] | null): Origin => {
    if (!range) return {file}
    const pos = lc.linePos(range[0])
    return {file, line: pos.line, col: pos.col}
  }
  origins.set(path, at(node.range))
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key)
      const child = joinPath(path, key)
      // Point at the key itself: that is where an unknown key or a bad value is seen.
      origins.set(child, at((pair.key as YamlNode | null)?.range))
      if (pair.value) walk(pair.value as YamlNode, child, file, lc, origins)
      if (pair.value) origins.set(child, at((pair.key as YamlNode | null)?.range))
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => walk(item as YamlNode, joinPath(path, i), file, lc, origins))
  }
}

/** Parse one YAML file into plain data plus origins; YAML syntax errors become SpecErrors with positions. */
export function readYamlFile(file: string): {data: Json; origins: Origins} {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory, not a YAML file' : (error as Error).message
    throw new SpecError([{origin: {file: displayPath(file)}, path: '', message: `${why}; give the path of a YAML spec (see configs/)`}])
  }
  const lc = new LineCounter()
  const doc = parseDocument(text, {lineCounter: lc, prettyErrors: false, uniqueKeys: true})
  if (doc.errors.length > 0) {
    throw new SpecError(
      doc.errors.map((e) => {
        const pos = lc.linePos(e.pos[0])
        return {origin: {file: displayPath(file), line: pos.line, col: pos.col}, path: '', message: `YAML syntax error: ${e.message.split('\n')[0]}`}
      }),
    )
  }
  const origins: Origins = new Map()
  walk(doc.contents as YamlNode, '', displayPath(file), lc, origins)
  const data = (doc.toJS() ?? {}) as Json
  return {data, origins}
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Deep merge: objects merge key by key, everything else (arrays included) is replaced. */
export function deepMerge(base: Json, over: Json): Json {
  if (!isObject(base) || !isObject(over)) return structuredClone(over)
  const out: JsonObject = {...base}
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? deepMerge(base[k], v) : structuredClone(v)
  return out
}

function mergeOrigins(into: Origins, from: Origins): void {
  for (const [k, v] of from) into.set(k, v)
}

function loadChain(file: string, seen: string[]): {data: JsonObject; origins: Origins; files: string[]} {
  const abs = resolve(file)
  if (seen.includes(abs)) {
    throw new SpecError([{origin: {file: displayPath(abs)}, path: 'extends', message: `extends cycle: ${[...seen, abs].map(displayPath).join(' → ')}; remove one of these extends`}])
  }
  const {data, origins} = readYamlFile(abs)
  if (!isObject(data)) {
    throw new SpecError([{origin: origins.get('') ?? {file: displayPath(abs)}, path: '', message: `a spec must be a YAML mapping (key: value lines), not ${Array.isArray(data) ? 'a list' : typeof data}`}])
  }
  const parent = data.extends
  if (parent === undefined) return {data, origins, files: [abs]}
  if (typeof parent !== 'string') {
    throw new SpecError([{origin: origins.get('extends'), path: 'extends', message: 'must be the path of a base spec (a string)'}])
  }
  const parentPath = resolve(dirname(abs), parent)
  let base
  try {
    base = loadChain(parentPath, [...seen, abs])
  } catch (error) {
    if (error instanceof SpecError && error.problems[0]?.message.startsWith('file not found')) {
      throw new SpecError([{origin: origins.get('extends'), path: 'extends', message: `base spec ${displayPath(parentPath)} not found (paths are relative to the extending file)`}])
    }
    throw error
  }
  const {extends: _ignored, ...rest} = data
  const merged = deepMerge(base.data, rest) as JsonObject
  const mergedOrigins = new Map(base.origins)
  mergeOrigins(mergedOrigins, origins)
  mergedOrigins.delete('extends')
  return {data: merged, origins: mergedOrigins, files: [...base.files, abs]}
}

/** Split `a.b[2].c` into keys and indices. */
export function parsePath(path: string): (string | number)[] {
  const out: (string | number)[] = []
  const re = /([^.[\]]+)|\[(\d+)\]/g
  let m: RegExpExecArray | null
  let consumed = ''
  while ((m = re.exec(path))) {
    out.push(m[2] !== undefined ? Number(m[2]) : m[1])
    consumed += m[0]
  }
  if (out.length === 0 || consumed.length !== path.replace(/\./g, '').length) throw new Error(`bad key path "${path}"`)
  return out
}

export interface Override {
  path: string
  value: Json
  /** As written, for messages. */
  text: string
}

/** Parse `key=value` (value as YAML; `key=` sets null). */
export function parseOverride(text: string): Override {
  const eq = text.indexOf('=')
  if (eq <= 0) throw new SpecError([{origin: {file: '--set'}, path: '', message: `"${text}" is not key=value; write e.g. --set train.lr=3e-4`}])
  const path = text.slice(0, eq).trim()
  try {
    parsePath(path)
  } catch {
    throw new SpecError([{origin: {file: '--set'}, path, message: `"${path}" is not a key path; write dotted keys with [i] for list items, e.g. model.components[1].depth`}])
  }
  const raw = text.slice(eq + 1)
  const doc = parseDocument(raw === '' ? 'null' : raw)
  if (doc.errors.length > 0) throw new SpecError([{origin: {file: '--set'}, path, message: `value "${raw}" is not valid YAML: ${doc.errors[0].message.split('\n')[0]}`}])
  return {path, value: doc.toJS() as Json, text}
}

/** Apply one override in place. The parent must exist; a missing leaf is created (validation then judges the key). */
export function applyOverride(spec: JsonObject, o: Override, origins: Origins): void {
  const keys = parsePath(o.path)
  let node: Json = spec
  let walked = ''
  for (let i = 0; i < keys.length - 1; i++) {
    const k = keys[i]
    let next: Json | undefined
    if (typeof k === 'number') next = Array.isArray(node) ? node[k] : undefined
    else if (isObject(node)) {
      if (!(k in node)) node[k] = {}
      next = node[k]
    }
    walked = joinPath(walked, k)
    if (next === undefined || next === null || typeof next !== 'object') {
      throw new SpecError([{origin: {file: `--set ${o.text}`}, path: walked, message: typeof k === 'number' ? `no list item ${k} here (the list has ${Array.isArray(node) ? node.length : 0} items)` : `is ${JSON.stringify(next)}, so it has no key "${keys[i + 1]}"`}])
    }
    node = next
  }
  const last = keys[keys.length - 1]
  if (typeof last === 'number') {
    if (!Array.isArray(node) || last > node.length) throw new SpecError([{origin: {file: `--set ${o.text}`}, path: o.path, message: 'no such list item'}])
    node[last] = o.value
  } else {
    if (!isObject(node)) throw new SpecError([{origin: {file: `--set ${o.text}`}, path: o.path, message: 'parent is not a mapping'}])
    node[last] = o.value
  }
  for (const k of [...origins.keys()]) if (k === o.path || k.startsWith(`${o.path}.`) || k.startsWith(`${o.path}[`)) origins.delete(k)
  origins.set(o.path, {file: `--set ${o.text}`})
}

/** Nested object of the overrides, for `overrides.yaml`. */
export function overridesObject(overrides: Override[]): JsonObject {
  const out: JsonObject = {}
  for (const o of overrides) out[o.path] = o.value
  return out
}

/** Load a spec file with its extends chain and overrides applied. */
export function loadSpec(file: string, sets: string[] = []): LoadedSpec {
  const {data, origins, files} = loadChain(file, [])
  const overrides = sets.map(parseOverride)
  for (const o of overrides) applyOverride(data, o, origins)
  return {spec: data, origins, file: resolve(file), files, overrides: overridesObject(overrides)}
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
