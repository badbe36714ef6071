/** Text rendering of the per-component parameter table, and of the list of weights (`mixture params --weights`). */
import type {ComponentCount} from './build.js'

export function formatCount(n: number): string {
  return n.toLocaleString('en-US')
}

export function paramTable(components: ComponentCount[], total: number): string {
  const rows = components.map((c) => [c.component, formatCount(c.params)])
  rows.push(['total (trainable)', formatCount(total)])
  const w0 = Math.max('component'.length, ...rows.map((r) => r[0].length))
  const w1 = Math.max('params'.length, ...rows.map((r) => r[1].length))
  const line = (a: string, b: string) => `${a.padEnd(w0)}  ${b.padStart(w1)}`
  const out = [line('component', 'params'), `${'-'.repeat(w0)}  ${'-'.repeat(w1)}`]
  rows.forEach((r, i) => {
    if (i === rows.length - 1) out.push(`${'-'.repeat(w0)}  ${'-'.repeat(w1)}`)
    out.push(line(r[0], r[1]))
  })
  return out.join('\n')
}

/** Every weight, one line each: its name, shape and what it is (a trainable parameter, or a BatchNorm statistic). */
export function weightList(weights: {name: string; shape: number[]; trainable: boolean}[]): string {
  const shapes = weights.map((w) => `[${w.shape.join(', ')}]`)
  const w0 = Math.max('weight'.length, ...weights.map((w) => w.name.length))
  const w1 = Math.max('shape'.length, ...shapes.map((s) => s.length))
  const line = (a: string, b: string, c: string) => `${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`
  return [line('weight', 'shape', ''), line('-'.repeat(w0), '-'.repeat(w1), ''), ...weights.map((w, i) => line(w.name, shapes[i], w.trainable ? 'trainable' : 'statistic'))].map((l) => l.trimEnd()).join('\n')
}
