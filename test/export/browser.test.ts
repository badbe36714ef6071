// The TensorFlow.js export in a real browser: Debian's chromium, headless, loads the graph models
// of every paper architecture with the stock @tensorflow/tfjs bundle (tf.min.js), served with the
// exported files from a loopback HTTP server, and gives our logits.
import assert from 'node:assert/strict'
import {copyFileSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {chromium, type Browser} from 'playwright-core'
import {tf} from '../../src/engine/tf.js'
import {exportRun} from '../../src/export/export-run.js'
import {openRun} from '../../src/run/load-run.js'
import {chromiumMissing, findChromium} from '../report/chromium.js'
import {skipUnless} from '../require.js'
import {tempDir} from '../helpers.js'
import {makeRun, maxRelDiff, PAPER_ARCHITECTURES, serveFolder, testImages, TINY_RESNET} from './helpers.js'

const skip = skipUnless('chromium', chromiumMissing())
const TOLERANCE = 1e-4

describe('tfjs export in chromium', () => {
  let browser: Browser | undefined

  before(async () => {
    if (skip) return
    browser = await chromium.launch({executablePath: findChromium(), args: ['--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'], timeout: 60_000})
  })

  after(async () => {
    await browser?.close()
  })

  it('the stock tf.min.js bundle loads every paper architecture with tf.loadGraphModel and gives our logits', {skip}, async () => {
    const dir = tempDir()
    const bundle = join(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs')), '..', 'dist', 'tf.min.js')
    copyFileSync(bundle, join(dir, 'tf.min.js'))
    writeFileSync(join(dir, 'index.html'), '<!doctype html><html><head><link rel="icon" href="data:,"><script src="tf.min.js"></script></head><body></body></html>')
    const jobs: {name: string; path: string; input: {shape: number[]; values: number[]}; expected: number[]}[] = []
    for (const [name, spec] of Object.entries({...PAPER_ARCHITECTURES, 'resnet18-tiny': TINY_RESNET})) {
      const run = await makeRun(dir, name, spec)
      await exportRun({run, format: 'tfjs'})
      const input = testImages((spec.data as {image_size: number}).image_size)
      const opened = await openRun(run, {backend: 'cpu'})
      const expected = tf.tidy(() => Array.from((opened.built.model.apply(tf.tensor(input.values, input.shape), {training: false}) as tf.Tensor).dataSync()))
      opened.dispose()
      jobs.push({name, path: `/${name}/export/tfjs-best/model.json`, input, expected})
    }
    const {url, server} = await serveFolder(dir)
    const page = await browser!.newPage()
    const errors: string[] = []
    page.on('pageerror', (error) => errors.push(error.message))
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text())
    })
    try {
      await page.goto(`${url}/index.html`)
      const results = await page.evaluate(async (items) => {
        const tfjs = (globalThis as unknown as {tf: typeof import('@tensorflow/tfjs')}).tf
        await tfjs.setBackend('cpu')
        const out: number[][] = []
        for (const item of items) {
          const model = await tfjs.loadGraphModel(item.path)
          const y = model.predict(tfjs.tensor(item.input.values, item.input.shape)) as import('@tensorflow/tfjs').Tensor
          out.push(Array.from(await y.data()))
          model.dispose()
        }
        return out
      }, jobs.map(({path, input}) => ({path, input})))
      assert.deepEqual(errors, [])
      jobs.forEach((job, i) => {
        assert.equal(results[i].length, job.expected.length, `${job.name}: as many logits as ours`)
        const diff = maxRelDiff(results[i], job.expected)
        assert.ok(diff <= TOLERANCE, `${job.name}: the browser's logits differ from ours by ${diff}, more than ${TOLERANCE}`)
      })
    } finally {
      await page.close()
      server.close()
    }
  })
})
