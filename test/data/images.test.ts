import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {after, before, describe, it} from 'node:test'
import {join} from 'node:path'

import {DataError} from '../../src/data/errors.js'
import {centreSquare, imageDimensions, isImageFile, readImage, roundHalfEven} from '../../src/data/images.js'
import {REPO} from '../helpers.js'
import {isolatedTmp, rmrf, writePng} from './helpers.js'

const FIXTURES = join(REPO, 'test', 'fixtures', 'images')
const pillow = JSON.parse(readFileSync(join(FIXTURES, 'decoded.json'), 'utf8')) as {files: Record<string, {mode: string; width: number; height: number; rgb: number[]}>}

let tmp: string
before(() => {
  tmp = isolatedTmp()
})
after(() => rmrf(tmp))

describe('decoding image files (the pixels of Pillow’s convert("RGB"), as torchvision’s ImageFolder loads them)', () => {
  for (const [name, expected] of Object.entries(pillow.files)) {
    it(`${name} (${expected.mode})`, async () => {
      const img = await readImage(join(FIXTURES, name))
      assert.deepEqual([img.width, img.height], [expected.width, expected.height])
      assert.equal(img.data.length, expected.width * expected.height * 3)
      assert.deepEqual([...img.data], expected.rgb)
      assert.deepEqual(imageDimensions(join(FIXTURES, name)), {width: expected.width, height: expected.height})
    })
  }

  it('names the file when it is not an image, truncated, or missing', async () => {
    const junk = join(tmp, 'notes.png')
    writeFileSync(junk, 'not an image')
    const cut = join(tmp, 'cut.jpg')
    writeFileSync(cut, readFileSync(join(FIXTURES, 'photo.jpg')).subarray(0, 300))
    for (const [file, pattern] of [[junk, /unsupported image format/], [cut, /premature end|Cannot decode/i], [join(tmp, 'none.png'), /Cannot read image .*none\.png/]] as const) {
      await assert.rejects(readImage(file), (e: unknown) => e instanceof DataError && e.message.includes(file) && pattern.test(e.message))
    }
    assert.throws(() => imageDimensions(junk), (e: unknown) => e instanceof DataError && e.message.includes(junk))
  })

  it('knows image files by extension', () => {
    assert.ok(isImageFile('a/b.PNG') && isImageFile('x.jpeg') && isImageFile('x.JPG'))
    assert.ok(!isImageFile('x.txt') && !isImageFile('.DS_Store') && !isImageFile('png'))
  })
})

describe('centre crop to a square (torchvision center_crop offsets)', () => {
  it('keeps the middle, rounding half offsets to even like Python', async () => {
    // 5 wide × 2 high: offset (5 − 2) / 2 = 1.5 → 2
    const w = 5
    const h = 2
    const data = Uint8Array.from({length: w * h * 3}, (_, i) => i)
    const sq = centreSquare({data, width: w, height: h})
    assert.equal(sq.side, 2)
    const at = (x: number, y: number) => [...data.subarray((y * w + x) * 3, (y * w + x) * 3 + 3)]
    assert.deepEqual([...sq.data], [...at(2, 0), ...at(3, 0), ...at(2, 1), ...at(3, 1)])
    assert.deepEqual([0.5, 1.5, 2.5, 3.5, 2.4].map(roundHalfEven), [0, 2, 2, 4, 2])
    const file = await writePng(join(tmp, 'square.png'), Uint8Array.from({length: 12}, (_, i) => i * 9), 2, 2)
    const img = await readImage(file)
    assert.equal(centreSquare(img).data, img.data, 'a square image is not copied')
  })
})
