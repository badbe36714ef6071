/**
 * The paper's published tables and curve figures, kept as reference data.
 *
 * These numbers are what the paper printed (Figures 2, 3, 8 and 9; see docs/paper.md, "Published results").
 * They are shown next to measured results under `--compare-paper`, always in columns labelled as the
 * paper's, and are never used in place of a measured value. Values are stored as the paper printed
 * them, so `String(value)` reproduces the paper's text (`0.786`, `19.88`, `125`); a blank cell in the
 * paper is `null`.
 */

export interface PaperRow {
  /** Model name exactly as the paper writes it. */
  label: string
  /** Top-1 test accuracy (highest over epochs). */
  accuracy: number
  /** Total training time in minutes; null where the paper leaves the cell blank. */
  minutes: number | null
  /** Trainable parameters. */
  params: number
}

export interface PaperTable {
  /** Figure number in the paper. */
  figure: number
  /** Figure caption title as printed. */
  title: string
  /** Dataset id as used in specs (`data.dataset`). */
  dataset: string
  /** Input resolution the table was measured at. */
  imageSize: number
  /** The per-epoch validation-accuracy figure drawn from the same runs. */
  curves: {figure: number; title: string}
  rows: PaperRow[]
}

const VIT_LABELS = [
  '1 Block Alternating MM (Conv + ViT)',
  '2 Block Alternating MM (Conv + ViT)',
  '1 Block Joint MM (Conv + ViT)',
  '2 Block Joint MM (Conv + ViT)',
  'Resnet 18 (Baseline)',
  'VIT (2 depth, 4 attention head)',
] as const

function paperRows(values: [string, number, number | null, number][]): PaperRow[] {
  return values.map(([label, accuracy, minutes, params]) => ({label, accuracy, minutes, params}))
}

/** Tables in the order the project presents them: CIFAR-10, CIFAR-100, STL-10 (ViT), STL-10 (Perceiver). */
export const PAPER_TABLES: readonly PaperTable[] = [
  {
    figure: 8,
    title: 'CIFAR-10 Results Table',
    dataset: 'cifar10',
    imageSize: 32,
    curves: {figure: 4, title: 'CIFAR-10'},
    rows: paperRows([
      [VIT_LABELS[0], 0.7797, 49.6, 4719167],
      [VIT_LABELS[1], 0.786, 117.5, 9407604],
      [VIT_LABELS[2], 0.7026, 77.5, 9708095],
      [VIT_LABELS[3], 0.7795, 535.9, 19385460],
      [VIT_LABELS[4], 0.7915, 35.8, 11689512],
      [VIT_LABELS[5], 0.5834, 72.1, 10791946],
    ]),
  },
  {
    figure: 9,
    title: 'CIFAR-100 Results Table',
    dataset: 'cifar100',
    imageSize: 32,
    curves: {figure: 5, title: 'CIFAR-100'},
    rows: paperRows([
      [VIT_LABELS[0], 0.4511, 46.1, 4995737],
      [VIT_LABELS[2], 0.3169, 77.2, 9984665],
      [VIT_LABELS[4], 0.4703, 42.9, 11689512],
      [VIT_LABELS[5], 0.203, 70.1, 10884196],
    ]),
  },
  {
    figure: 2,
    title: 'STL-10 (CNN + ViT)',
    dataset: 'stl10',
    imageSize: 32,
    curves: {figure: 6, title: 'STL-10'},
    rows: paperRows([
      [VIT_LABELS[0], 0.5987, 4.6, 4719167],
      [VIT_LABELS[1], 0.5729, 11.3, 9407604],
      [VIT_LABELS[2], 0.5832, 7.9, 9708095],
      [VIT_LABELS[3], 0.62, 19.88, 19385460],
      [VIT_LABELS[4], 0.5894, 4.1, 11689512],
      [VIT_LABELS[5], 0.293, 7.1, 10791946],
    ]),
  },
  {
    figure: 3,
    title: 'STL - 10 (CNN + Perceiver)',
    dataset: 'stl10',
    imageSize: 96,
    curves: {figure: 7, title: 'STL-10 Accuracy, CNN + Perceiver MM Model'},
    rows: paperRows([
      ['Perceiver Baseline', 0.404, 125, 1625586],
      ['Perceiver', 0.431, 50, 301170],
      ['Joint (1 Block)', 0.49, 30, 1466518],
      ['Joint (2 Block)', 0.4243, 70, 2656540],
      ['Alternating (1 Block)', 0.6438, 100, 1693278],
      ['Alternating (2 Block)', 0.6146, 300, 3110066],
      ['CNN', 0.4574, 33, 480054],
      ['ResNet-18', 0.5699, null, 11689512],
    ]),
  },
]

/** A published row together with the table it comes from and its place in the project's order. */
export interface PaperMatch {
  table: PaperTable
  row: PaperRow
  /** Global position: tables in PAPER_TABLES order, rows in the paper's order. */
  order: number
}

/** Dataset ids compared without case or punctuation: `CIFAR-10`, `cifar_10` and `cifar10` are one. */
export function datasetKey(dataset: string): string {
  return dataset.toLowerCase().replace(/[^a-z0-9]/g, '')
}

/** Labels compared without case, with `-`/`_` read as spaces and runs of spaces collapsed. */
export function labelKey(label: string): string {
  return label.toLowerCase().replace(/[-_]/g, ' ').replace(/\s+/g, ' ').trim()
}

/** `Perceiver Baseline (64 latents × 64, …)` → `perceiver baseline`. */
function withoutTrailingParenthetical(key: string): string {
  return key.replace(/\s*\([^()]*\)$/, '').trim()
}

const DISPLAY_NAMES: Record<string, string> = {
  cifar10: 'CIFAR-10',
  cifar100: 'CIFAR-100',
  stl10: 'STL-10',
  mnist: 'MNIST',
  fashionmnist: 'Fashion-MNIST',
  synthetic: 'Synthetic',
}

/** Dataset name as the paper writes it (`cifar10` → `CIFAR-10`); unknown ids are returned unchanged. */
export function datasetDisplayName(dataset: string): string {
  return DISPLAY_NAMES[datasetKey(dataset)] ?? dataset
}

/**
 * The published row for a model label on a dataset, or undefined.
 *
 * A label matches when it equals the paper's (ignoring case, `-`/`_` and spacing). Failing that, a
 * label that is the paper's followed by one parenthetical detail (`Perceiver (32 × 32 latents, …)`)
 * matches the paper's `Perceiver`, as long as exactly one published row fits. For STL-10, which has
 * two tables (32×32 ViT and 96×96 Perceiver), `imageSize` picks the table when given. A run of
 * another task on the paper's dataset (CIFAR-100's 20 superclasses, `labelMode` coarse) matches none.
 */
export function findPaperRow(dataset: string, label: string, imageSize?: number, labelMode?: string): PaperMatch | undefined {
  if (labelMode !== undefined && labelMode !== 'fine') return undefined
  const dkey = datasetKey(dataset)
  const candidates: PaperMatch[] = []
  let order = 0
  for (const table of PAPER_TABLES) {
    for (const row of table.rows) {
      if (table.dataset === dkey && (imageSize === undefined || table.imageSize === imageSize)) {
        candidates.push({table, row, order})
      }
      order++
    }
  }
  const key = labelKey(label)
  const exact = candidates.filter((c) => labelKey(c.row.label) === key)
  if (exact.length > 0) return exact[0]
  const short = withoutTrailingParenthetical(key)
  if (short === key) return undefined
  const loose = candidates.filter((c) => labelKey(c.row.label) === short)
  return loose.length === 1 ? loose[0] : undefined
}
