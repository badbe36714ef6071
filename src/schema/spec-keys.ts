/**
 * The spec's own keys as dotted paths (`train.mixup`, `train.ema.decay`), each with its description
 * and default, read from the spec's JSON Schema: what `mixture list` shows of a name that no
 * registry entry has but the spec does (`mixture list mixup`), so that a setting is found by the
 * word a researcher knows it by, as a registered component is.
 */
import {specSchema} from './spec.js'

export interface SpecKey {
  /** Dotted path, as `--set` takes it. */
  path: string
  description: string
  default?: unknown
  /** A mapping's own keys (one level), each with its default where it has one. */
  keys: {key: string; default?: unknown}[]
}

interface SchemaNode {
  type?: string | string[]
  description?: string
  default?: unknown
  properties?: Record<string, SchemaNode>
}

/** Every key of the spec (mappings included), in the schema's order. */
function everyKey(node: SchemaNode, prefix: string, out: SpecKey[]): SpecKey[] {
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const path = prefix ? `${prefix}.${key}` : key
    const keys = Object.entries(child.properties ?? {}).map(([k, v]) => ({key: k, ...(v.default !== undefined ? {default: v.default} : {})}))
    out.push({path, description: child.description ?? '', ...(child.default !== undefined ? {default: child.default} : {}), keys})
    everyKey(child, path, out)
  }
  return out
}

/** The names a spec key is looked for by: each key's last name (`mixup`, `decay`) and its dotted path (`train.ema.decay`), once each. */
export function specKeyNames(): string[] {
  const paths = everyKey(specSchema as unknown as SchemaNode, '', []).map((k) => k.path)
  return [...new Set([...paths.map((p) => p.split('.').at(-1)!), ...paths])]
}

/**
 * The spec keys whose last name holds `pattern` (case-insensitive): `mixup` finds train.mixup,
 * `decay` train.ema.decay; a pattern with a dot is a path or its end (`train.ema`, `ema.decay`).
 */
export function specKeysMatching(pattern: string): SpecKey[] {
  const wanted = pattern.toLowerCase()
  const matches = (path: string) => (wanted.includes('.') ? path.toLowerCase() === wanted || path.toLowerCase().endsWith(`.${wanted}`) : (path.split('.').at(-1) ?? '').toLowerCase().includes(wanted))
  return everyKey(specSchema as unknown as SchemaNode, '', []).filter((k) => matches(k.path))
}
