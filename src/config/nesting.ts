/**
 * How deep a spec may nest, and the one YAML value it cannot hold: an alias inside the node it
 * names (`label: &r [1, *r]`), which would be a list that contains itself. Everything after reading
 * (extends merging, validation, the messages that echo a value, the run folder's copy of the spec)
 * walks values within one another; a value that contains itself, or one nested thousands deep,
 * would overflow those walks. So every reader of YAML (spec and sweep files, `--set` values) checks
 * what it parsed here, before turning it into data.
 */
import {isAlias, isCollection, isPair, isScalar, type Document, type Node as YamlNode} from 'yaml'
import {joinPath} from './key-path.js'

/** The most keys and list items within one another a spec may have; real specs nest 4 or 5 deep. */
export const MAX_DEPTH = 64

/** What to say of a value nested deeper than MAX_DEPTH. */
export const TOO_DEEP = `is nested too deeply: more than ${MAX_DEPTH} levels of keys and list items within one another, where a spec needs a handful; check for [ or { that are never closed`

export interface NestingFault {
  /** The node to blame: the alias, or the first value too deep. */
  node: YamlNode
  /** Its dotted path. */
  path: string
  message: string
}

/** Thrown from within the walk below to end it at the first fault. */
class Found {
  constructor(readonly fault: NestingFault) {}
}

/**
 * The first alias in `doc` that names a node containing it, or the first value nested more than
 * MAX_DEPTH deep (an alias counting as deep as what it stands for), or undefined. The document's
 * root is at `path`, `depth` levels down (a `--set` value sits under its key path).
 *
 * Aliases are resolved as YAML does, to the last node before them with that anchor; that node is
 * either still open (it contains the alias: the fault) or complete, and then its height is known,
 * so no alias is followed twice and no walk goes deeper than MAX_DEPTH.
 */
export function nestingFault(doc: Document, path = '', depth = 0): NestingFault | undefined {
  const anchors = new Map<string, YamlNode>()
  const open = new Set<YamlNode>()
  /** How many levels a complete collection holds below itself, aliases counted as what they stand for. */
  const height = new Map<YamlNode, number>()

  const measure = (node: YamlNode, at: string, level: number): number => {
    if (level > MAX_DEPTH) throw new Found({node, path: at, message: TOO_DEEP})
    if (isAlias(node)) {
      const target = anchors.get(node.source)
      // An alias with no anchor before it: yaml reports that itself.
      if (!target) return 0
      if (open.has(target)) {
        throw new Found({node, path: at, message: `the YAML alias *${node.source} names a node that contains it (&${node.source}), so the value would contain itself without end; an alias may not refer to the node that contains it: write that part out instead`})
      }
      const below = height.get(target) ?? 0
      if (level + below > MAX_DEPTH) throw new Found({node, path: at, message: `${TOO_DEEP} (counting what its aliases stand for)`})
      return below
    }
    if (node.anchor) anchors.set(node.anchor, node)
    if (!isCollection(node)) return 0
    open.add(node)
    let below = 0
    node.items.forEach((item, i) => {
      if (isPair(item)) {
        const key = item.key as YamlNode | null
        const child = joinPath(at, isScalar(key) ? String(key.value) : String(key))
        if (key && typeof key === 'object') below = Math.max(below, 1 + measure(key, child, level + 1))
        if (item.value) below = Math.max(below, 1 + measure(item.value as YamlNode, child, level + 1))
      } else if (item) below = Math.max(below, 1 + measure(item as YamlNode, joinPath(at, i), level + 1))
    })
    open.delete(node)
    height.set(node, below)
    return below
  }

  try {
    if (doc.contents) measure(doc.contents as YamlNode, path, depth)
    return undefined
  } catch (error) {
    if (error instanceof Found) return error.fault
    throw error
  }
}

/**
 * Whether yaml's parser gave up for lack of stack: it overflows on nesting some hundreds deep, far
 * past MAX_DEPTH, and says so as an error of its own (or, in its first pass, throws a RangeError).
 */
export function parserTooDeep(error: {code?: string} | unknown): boolean {
  return error instanceof RangeError || (typeof error === 'object' && error !== null && (error as {code?: string}).code === 'RESOURCE_EXHAUSTION')
}
