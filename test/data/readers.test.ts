import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'

import {DataError, loadDataset} from '../../src/data/index.js'
import {padImages, resizeBilinear, resizePil} from '../../src/data/resize.js'
import {cifarFile, cifarPixel, idxFile, isolatedTmp, mnistImages, mnistPixel, rmrf, stlPixel, stlX, write, writeIdxDataset} from './helpers.js'

let tmp: string
before(() => {
  tmp = isolatedTmp()
})
after(() => rmrf(tmp))

/** Asserts that a promise rejects with a DataError whose message matches every pattern. */
async function rejectsData(p: Promise<unknown>, ...patterns: RegExp[]): Promise<string> {
  let msg = ''
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DataError, `expected DataError, got ${String(e)}`)
    msg = e.message
    for (const re of patterns) assert.match(e.message, re)
    return true
  })
  return msg
}

function writeCifar10(dir: string, perFile = [2, 1, 1, 1, 1], test = 3): void {
  let first = 0
  perFile.forEach((n, k) => {
    write(join(dir, `data_batch_${k + 1}.bin`), cifarFile(Array.from({length: n}, (_, i) => [(first + i) % 10]), first))
    first += n
  })
  write(join(dir, 'test_batch.bin'), cifarFile(Array.from({length: test}, (_, i) => [9 - i]), 100))
}

describe('CIFAR-10 binary', () => {
  it('decodes channel planes into NHWC pixels, across all batch files in order', async () => {
    const dir = join(tmp, 'c10')
    writeCifar10(join(dir, 'cifar10'))
    const ds = await loadDataset({dataset: 'cifar10', image_size: 32}, {dataDir: dir})
    assert.equal(ds.train.count, 6)
    assert.equal(ds.test.count, 3)
    assert.equal(ds.numClasses, 10)
    assert.equal(ds.classNames[0], 'airplane')
    assert.equal(ds.source, join(dir, 'cifar10'))
    assert.deepEqual([...ds.train.labels], [0, 1, 2, 3, 4, 5])
    assert.deepEqual([...ds.test.labels], [9, 8, 7])
    // hand check: image 0, pixel (0,0) = first byte of each plane; pixel (0,1) is the second byte
    const file = cifarFile([[0]], 0)
    assert.deepEqual([...ds.train.images.subarray(0, 6)], [file[1], file[1 + 1024], file[1 + 2048], file[2], file[2 + 1024], file[2 + 2048]])
    for (let i = 0; i < 6; i++)
      for (let p = 0; p < 1024; p++)
        for (let c = 0; c < 3; c++) assert.equal(ds.train.images[(i * 1024 + p) * 3 + c], cifarPixel(i, p, c))
    assert.equal(ds.test.images[(2 * 1024 + 1023) * 3 + 2], cifarPixel(102, 1023, 2))
  })

  it('finds the official archive folder name and honours train_limit/test_limit', async () => {
    const dir = join(tmp, 'c10b')
    writeCifar10(join(dir, 'cifar-10-batches-bin'))
    const ds = await loadDataset({dataset: 'cifar10', image_size: 32, train_limit: 3, test_limit: 1}, {dataDir: dir})
    assert.equal(ds.train.count, 3)
    assert.equal(ds.train.images.length, 3 * 3072)
    assert.equal(ds.test.count, 1)
    assert.equal(ds.train.images[(2 * 1024 + 5) * 3 + 1], cifarPixel(2, 5, 1))
  })

  it('rejects a truncated file, naming it', async () => {
    const dir = join(tmp, 'c10t')
    writeCifar10(join(dir, 'cifar10'))
    const bad = join(dir, 'cifar10', 'data_batch_3.bin')
    write(bad, cifarFile([[1]]).subarray(0, 3000))
    await rejectsData(loadDataset({dataset: 'cifar10', image_size: 32}, {dataDir: dir}), new RegExp(bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), /3000 bytes/, /3073-byte/)
  })

  it('rejects a label out of range, naming file and record', async () => {
    const dir = join(tmp, 'c10l')
    writeCifar10(join(dir, 'cifar10'))
    write(join(dir, 'cifar10', 'test_batch.bin'), cifarFile([[3], [10]]))
    await rejectsData(loadDataset({dataset: 'cifar10', image_size: 32}, {dataDir: dir}), /test_batch\.bin: record 1/, /label 10/, /0\.\.9/)
  })

  it('resizes bilinearly when image_size differs', async () => {
    const dir = join(tmp, 'c10r')
    writeCifar10(join(dir, 'cifar10'), [1, 1, 1, 1, 1], 1)
    const ds = await loadDataset({dataset: 'cifar10', image_size: 16}, {dataDir: dir})
    assert.equal(ds.train.images.length, 5 * 16 * 16 * 3)
    assert.equal(ds.imageSize, 16)
  })
})

describe('CIFAR-100 binary', () => {
  const dir = () => join(tmp, 'c100')
  before(() => {
    const d = join(dir(), 'cifar-100-binary')
    write(join(d, 'train.bin'), cifarFile([[4, 99], [19, 0], [0, 42]]))
    write(join(d, 'test.bin'), cifarFile([[7, 55]], 10))
  })

  it('uses fine labels by default', async () => {
    const ds = await loadDataset({dataset: 'cifar100', image_size: 32}, {dataDir: dir()})
    assert.deepEqual([...ds.train.labels], [99, 0, 42])
    assert.deepEqual([...ds.test.labels], [55])
    assert.equal(ds.numClasses, 100)
    assert.equal(ds.classNames.length, 100)
    assert.equal(ds.classNames[99], 'worm')
    for (let p = 0; p < 1024; p += 37) for (let c = 0; c < 3; c++) assert.equal(ds.train.images[(1 * 1024 + p) * 3 + c], cifarPixel(1, p, c))
    assert.equal(ds.test.images[5 * 3 + 2], cifarPixel(10, 5, 2))
  })

  it('uses coarse labels with label_mode: coarse', async () => {
    const ds = await loadDataset({dataset: 'cifar100', image_size: 32, label_mode: 'coarse'}, {dataDir: dir()})
    assert.deepEqual([...ds.train.labels], [4, 19, 0])
    assert.equal(ds.numClasses, 20)
    assert.equal(ds.classNames.length, 20)
    assert.equal(ds.classNames[19], 'vehicles_2')
  })

  it('rejects a coarse label ≥ 20 and a fine label ≥ 100', async () => {
    const d = join(tmp, 'c100bad', 'cifar100')
    write(join(d, 'train.bin'), cifarFile([[20, 1]]))
    write(join(d, 'test.bin'), cifarFile([[1, 1]]))
    await rejectsData(loadDataset({dataset: 'cifar100', image_size: 32}, {dataDir: join(tmp, 'c100bad')}), /train\.bin: record 0/, /coarse label 20/)
    write(join(d, 'train.bin'), cifarFile([[1, 1], [2, 100]]))
    await rejectsData(loadDataset({dataset: 'cifar100', image_size: 32}, {dataDir: join(tmp, 'c100bad')}), /record 1/, /fine label 100/)
  })

  it('rejects CIFAR-10 files passed off as CIFAR-100 (record size)', async () => {
    const d = join(tmp, 'c100as10', 'cifar100')
    write(join(d, 'train.bin'), cifarFile([[1], [2], [3]]))
    write(join(d, 'test.bin'), cifarFile([[1, 1]]))
    await rejectsData(loadDataset({dataset: 'cifar100', image_size: 32}, {dataDir: join(tmp, 'c100as10')}), /3074-byte CIFAR-100 records/)
  })
})

describe('STL-10 binary', () => {
  const dir = () => join(tmp, 'stl')
  before(() => {
    const d = join(dir(), 'stl10_binary')
    write(join(d, 'train_X.bin'), stlX(3))
    write(join(d, 'train_y.bin'), Uint8Array.from([1, 10, 5]))
    write(join(d, 'test_X.bin'), stlX(2))
    write(join(d, 'test_y.bin'), Uint8Array.from([2, 3]))
  })

  it('transposes the column-major planes and maps labels 1..10 to 0..9 at 96×96', async () => {
    const ds = await loadDataset({dataset: 'stl10', image_size: 96}, {dataDir: dir()})
    assert.equal(ds.train.count, 3)
    assert.deepEqual([...ds.train.labels], [0, 9, 4])
    assert.deepEqual([...ds.test.labels], [1, 2])
    const img = ds.train.images
    // hand check: the file's second byte is channel 0, column 0, row 1 → NHWC offset (1*96 + 0)*3
    assert.equal(img[(1 * 96 + 0) * 3], stlX(1)[1])
    assert.equal(img[(0 * 96 + 1) * 3], stlX(1)[96])
    for (let n = 0; n < 3; n++)
      for (let row = 0; row < 96; row += 5)
        for (let col = 0; col < 96; col += 7)
          for (let c = 0; c < 3; c++) assert.equal(img[((n * 96 + row) * 96 + col) * 3 + c], stlPixel(n, c, row, col))
  })

  it('resizes 96→32 with resize: bilinear (output pixel = input pixel 3y+1, 3x+1)', async () => {
    const ds = await loadDataset({dataset: 'stl10', image_size: 32, resize: 'bilinear'}, {dataDir: dir()})
    assert.equal(ds.imageSize, 32)
    assert.equal(ds.train.images.length, 3 * 32 * 32 * 3)
    for (let n = 0; n < 3; n++)
      for (let y = 0; y < 32; y += 3)
        for (let x = 0; x < 32; x += 5)
          for (let c = 0; c < 3; c++) assert.equal(ds.train.images[((n * 32 + y) * 32 + x) * 3 + c], stlPixel(n, c, 3 * y + 1, 3 * x + 1))
  })

  it('resizes 96→32 by default as Pillow does (pil_bilinear)', async () => {
    const ds = await loadDataset({dataset: 'stl10', image_size: 32}, {dataDir: dir()})
    const native = await loadDataset({dataset: 'stl10', image_size: 96}, {dataDir: dir()})
    assert.deepEqual(ds.train.images, resizePil(native.train.images, 3, 96, 32, 3))
    assert.deepEqual(await loadDataset({dataset: 'stl10', image_size: 32, resize: 'pil_bilinear'}, {dataDir: dir()}).then((d) => d.train.images), ds.train.images)
  })

  it('rejects truncated images, mismatched label counts and labels outside 1..10', async () => {
    const base = join(tmp, 'stlbad')
    const d = join(base, 'stl10')
    write(join(d, 'train_X.bin'), stlX(2).subarray(0, 27648 + 100))
    write(join(d, 'train_y.bin'), Uint8Array.from([1, 2]))
    write(join(d, 'test_X.bin'), stlX(1))
    write(join(d, 'test_y.bin'), Uint8Array.from([1]))
    await rejectsData(loadDataset({dataset: 'stl10', image_size: 96}, {dataDir: base}), /train_X\.bin has 27748 bytes/, /27648-byte/)
    write(join(d, 'train_X.bin'), stlX(2))
    write(join(d, 'train_y.bin'), Uint8Array.from([1]))
    await rejectsData(loadDataset({dataset: 'stl10', image_size: 96}, {dataDir: base}), /2 images but the label file has 1 label/)
    write(join(d, 'train_y.bin'), Uint8Array.from([1, 0]))
    await rejectsData(loadDataset({dataset: 'stl10', image_size: 96}, {dataDir: base}), /train_y\.bin: label 1 is 0/, /1\.\.10/)
  })
})

describe('IDX (MNIST, Fashion-MNIST)', () => {
  it('writes big-endian headers the way the official files do', () => {
    const f = mnistImages(3)
    assert.deepEqual([...f.subarray(0, 16)], [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 28, 0, 0, 0, 28])
  })

  it('decodes gzip\'d IDX, replicates grey to RGB and zero-pads 28→32 by 2 px', async () => {
    const base = join(tmp, 'mn')
    writeIdxDataset(join(base, 'mnist'), [5, 0, 4], [7, 2])
    const ds = await loadDataset({dataset: 'mnist', image_size: 32}, {dataDir: base})
    assert.deepEqual([...ds.train.labels], [5, 0, 4])
    assert.deepEqual([...ds.test.labels], [7, 2])
    assert.equal(ds.train.images.length, 3 * 32 * 32 * 3)
    const at = (n: number, y: number, x: number, c: number) => ds.train.images[((n * 32 + y) * 32 + x) * 3 + c]
    for (let n = 0; n < 3; n++)
      for (let y = 0; y < 32; y++)
        for (let x = 0; x < 32; x++) {
          const inside = y >= 2 && y < 30 && x >= 2 && x < 30
          const want = inside ? mnistPixel(n, y - 2, x - 2) : 0
          for (let c = 0; c < 3; c++) assert.equal(at(n, y, x, c), want)
        }
  })

  it('accepts un-gzipped files and keeps 28×28 when asked', async () => {
    const base = join(tmp, 'fm')
    writeIdxDataset(join(base, 'fashion_mnist'), [9, 1], [3], false)
    const ds = await loadDataset({dataset: 'fashion_mnist', image_size: 28}, {dataDir: base})
    assert.equal(ds.classNames[9], 'Ankle boot')
    assert.equal(ds.train.images[((1 * 28 + 27) * 28 + 3) * 3 + 1], mnistPixel(1, 27, 3))
  })

  it('stretches 28→32 bilinearly with resize: bilinear', async () => {
    const base = join(tmp, 'mn')
    const ds = await loadDataset({dataset: 'mnist', image_size: 32, resize: 'bilinear'}, {dataDir: base})
    const grey = resizeBilinear(mnistImages(3).subarray(16), 3, 28, 32, 1)
    for (let i = 0; i < grey.length; i += 11) assert.equal(ds.train.images[i * 3 + 2], grey[i])
    // not padded: the corner of image 1 is its input pixel (0, 0), which is not 0
    assert.equal(ds.train.images[32 * 32 * 3], mnistPixel(1, 0, 0))
    assert.notEqual(mnistPixel(1, 0, 0), 0)
  })

  it('rejects a bad magic number, a truncated file, a label out of range and a count mismatch', async () => {
    const base = join(tmp, 'mnbad')
    const d = join(base, 'mnist')
    writeIdxDataset(d, [1, 2], [3])
    const img = join(d, 'train-images-idx3-ubyte.gz')
    const lbl = join(d, 'train-labels-idx1-ubyte.gz')
    const wrongMagic = mnistImages(2)
    wrongMagic[3] = 1 // 0x00000801: a label file's magic
    write(img, gzipSync(wrongMagic))
    await rejectsData(loadDataset({dataset: 'mnist', image_size: 28}, {dataDir: base}), /train-images-idx3-ubyte\.gz is not an IDX image file/, /magic number is 2049/, /expected 2051/)
    write(img, gzipSync(mnistImages(2).subarray(0, 500)))
    await rejectsData(loadDataset({dataset: 'mnist', image_size: 28}, {dataDir: base}), /has 500 bytes/, /needs exactly 1584/, /truncated/)
    write(img, gzipSync(mnistImages(2)).subarray(0, 200))
    await rejectsData(loadDataset({dataset: 'mnist', image_size: 28}, {dataDir: base}), /train-images-idx3-ubyte\.gz is a damaged gzip file/)
    write(img, gzipSync(mnistImages(2)))
    write(lbl, gzipSync(idxFile([2], Uint8Array.from([1, 10]))))
    await rejectsData(loadDataset({dataset: 'mnist', image_size: 28}, {dataDir: base}), /train-labels-idx1-ubyte\.gz: label 1 is 10/)
    write(lbl, gzipSync(idxFile([3], Uint8Array.from([1, 2, 3]))))
    await rejectsData(loadDataset({dataset: 'mnist', image_size: 28}, {dataDir: base}), /2 images but 3 labels/)
    // Files of no images, or of images of no pixels, would train on nothing and still "complete".
    write(img, gzipSync(idxFile([0, 28, 28], new Uint8Array(0))))
    write(lbl, gzipSync(idxFile([0], new Uint8Array(0))))
    await rejectsData(loadDataset({dataset: 'mnist', image_size: 28}, {dataDir: base}), /train-images-idx3-ubyte\.gz holds no images: the file is damaged or not the dataset's/)
    write(img, gzipSync(idxFile([2, 0, 0], new Uint8Array(0))))
    write(lbl, gzipSync(idxFile([2], Uint8Array.from([1, 2]))))
    await rejectsData(loadDataset({dataset: 'mnist', image_size: 28}, {dataDir: base}), /holds images of 0×0 pixels/)
  })

  it('refuses to pad down', async () => {
    await rejectsData(loadDataset({dataset: 'mnist', image_size: 16, resize: 'pad'}, {dataDir: join(tmp, 'mn')}), /smaller than the 28×28/, /resize: pil_bilinear/)
  })
})

describe('resizing kernels', () => {
  const src = Uint8Array.from([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 250])
  it('matches PyTorch bilinear (align_corners=False, no antialias) 4→3 and 4→6', () => {
    // reference: torch.nn.functional.interpolate(x, size, mode='bilinear', align_corners=False), rounded
    assert.deepEqual([...resizeBilinear(src, 1, 4, 3, 1)], [8, 22, 35, 62, 75, 88, 115, 128, 211])
    assert.deepEqual([...resizeBilinear(src, 1, 4, 6, 1)], [
      0, 5, 12, 18, 25, 30, 20, 25, 32, 38, 45, 50, 47, 52, 58, 65, 72, 77,
      73, 78, 85, 92, 98, 103, 100, 105, 112, 118, 150, 180, 120, 125, 132, 138, 195, 250,
    ])
  })
  it('pads centred with zeros', () => {
    assert.deepEqual([...padImages(Uint8Array.from([1, 2, 3, 4]), 1, 2, 4, 1)], [0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0])
  })
})

describe('configuration errors', () => {
  it('names the known datasets for an unknown one', async () => {
    await rejectsData(loadDataset({dataset: 'imagenet', image_size: 32}), /Unknown dataset 'imagenet'/, /cifar10, cifar100, stl10, fashion_mnist, mnist, synthetic/)
  })
  it('rejects label_mode coarse outside cifar100 and bad limits', async () => {
    await rejectsData(loadDataset({dataset: 'cifar10', image_size: 32, label_mode: 'coarse'}), /cifar100 only/)
    await rejectsData(loadDataset({dataset: 'synthetic', image_size: 32, train_limit: 0}), /train_limit must be an integer ≥ 1/)
  })
})
