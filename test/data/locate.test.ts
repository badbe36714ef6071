import assert from 'node:assert/strict'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {DataError, defaultDataDirs, loadDataset} from '../../src/data/index.js'
import {userCacheDir} from '../../src/data/locate.js'
import {cifarFile, isolatedTmp, rmrf, write} from './helpers.js'

let tmp: string
before(() => {
  tmp = isolatedTmp()
})
after(() => rmrf(tmp))

function writeCifar10(dir: string): void {
  for (let k = 1; k <= 5; k++) write(join(dir, `data_batch_${k}.bin`), cifarFile([[k]]))
  write(join(dir, 'test_batch.bin'), cifarFile([[0]]))
}

function dataError(fn: () => Promise<unknown>): Promise<string> {
  return fn().then(
    () => assert.fail('expected a DataError'),
    (e: unknown) => {
      assert.ok(e instanceof DataError, String(e))
      return e.message
    },
  )
}

describe('data directories', () => {
  it('searches the explicit dir, then MIXTURE_DATA (":"-separated), then the user cache', () => {
    process.env.MIXTURE_DATA = `${join(tmp, 'env1')}:${join(tmp, 'env2')}`
    try {
      assert.deepEqual(defaultDataDirs(join(tmp, 'explicit')), [join(tmp, 'explicit'), join(tmp, 'env1'), join(tmp, 'env2'), join(tmp, 'xdg-cache', 'mixture-models', 'datasets')])
      assert.deepEqual(defaultDataDirs(), [join(tmp, 'env1'), join(tmp, 'env2'), join(tmp, 'xdg-cache', 'mixture-models', 'datasets')])
    } finally {
      delete process.env.MIXTURE_DATA
    }
  })

  it('falls back to ~/.cache without XDG_CACHE_HOME', () => {
    const saved = process.env.XDG_CACHE_HOME
    delete process.env.XDG_CACHE_HOME
    try {
      assert.equal(userCacheDir(), join(homedir(), '.cache', 'mixture-models', 'datasets'))
    } finally {
      process.env.XDG_CACHE_HOME = saved
    }
  })

  it('loads from MIXTURE_DATA, from the user cache, and from files placed directly in the data dir', async () => {
    writeCifar10(join(tmp, 'envdata', 'cifar10'))
    process.env.MIXTURE_DATA = join(tmp, 'envdata')
    try {
      const ds = await loadDataset({dataset: 'cifar10', image_size: 32})
      assert.equal(ds.source, join(tmp, 'envdata', 'cifar10'))
    } finally {
      delete process.env.MIXTURE_DATA
    }
    writeCifar10(join(tmp, 'xdg-cache', 'mixture-models', 'datasets', 'cifar10', 'cifar-10-batches-bin'))
    const fromCache = await loadDataset({dataset: 'cifar10', image_size: 32})
    assert.equal(fromCache.source, join(tmp, 'xdg-cache', 'mixture-models', 'datasets', 'cifar10', 'cifar-10-batches-bin'))
    writeCifar10(join(tmp, 'flat'))
    const flat = await loadDataset({dataset: 'cifar10', image_size: 32, data_dir: join(tmp, 'flat')})
    assert.equal(flat.source, join(tmp, 'flat'))
  })

  it('explains exactly which files to put where when a dataset is missing', async () => {
    process.env.MIXTURE_DATA = join(tmp, 'nothing-here')
    try {
      const msg = await dataError(() => loadDataset({dataset: 'cifar100', image_size: 32}))
      assert.match(msg, /Dataset 'cifar100' was not found/)
      assert.match(msg, /train\.bin and test\.bin/)
      assert.match(msg, /folder named cifar100\//)
      assert.ok(msg.includes(`${join(tmp, 'nothing-here')} (MIXTURE_DATA)`), msg)
      assert.ok(msg.includes(`${join(tmp, 'xdg-cache', 'mixture-models', 'datasets')} (user cache)`), msg)
      assert.match(msg, /https:\/\/www\.cs\.toronto\.edu\/~kriz\/cifar-100-binary\.tar\.gz/)
      assert.match(msg, /cifar-100-binary\//)
      assert.match(msg, /--data-dir <dir>/)
      assert.match(msg, /MIXTURE_DATA=<dir>/)
      assert.match(msg, /mixture data fetch cifar100\./)
    } finally {
      delete process.env.MIXTURE_DATA
    }
  })

  it('an explicit data directory without the files is refused, naming it, never replaced by another copy', async () => {
    // The files are in MIXTURE_DATA and the user cache, but the data directory given lacks them.
    writeCifar10(join(tmp, 'elsewhere', 'cifar10'))
    writeCifar10(join(tmp, 'xdg-cache', 'mixture-models', 'datasets', 'cifar10'))
    process.env.MIXTURE_DATA = join(tmp, 'elsewhere')
    try {
      const msg = await dataError(() => loadDataset({dataset: 'cifar10', image_size: 32}, {dataDir: join(tmp, 'empty')}))
      assert.match(msg, /Dataset 'cifar10' is not in the data directory given/)
      assert.ok(msg.includes(join(tmp, 'empty')), msg)
      assert.match(msg, /it holds none of data_batch_1\.bin, .* and test_batch\.bin/)
      assert.match(msg, /never replaced by another copy/)
      assert.ok(msg.includes(`mixture data fetch cifar10 --data-dir ${join(tmp, 'empty')}`), msg)
      const specDir = await dataError(() => loadDataset({dataset: 'cifar10', image_size: 32, data_dir: join(tmp, 'empty')}))
      assert.match(specDir, /is not in the data directory given/)
      assert.equal((await loadDataset({dataset: 'cifar10', image_size: 32})).source, join(tmp, 'elsewhere', 'cifar10'), 'without one, the search path is used')
    } finally {
      delete process.env.MIXTURE_DATA
    }
  })

  it("says where a folder holds another published version (CIFAR's python one), which is not read", async () => {
    const py = join(tmp, 'pickled', 'cifar-10-batches-py')
    write(join(py, 'data_batch_1'), Uint8Array.from([128]))
    for (const dir of [join(tmp, 'pickled'), py]) {
      const msg = await dataError(() => loadDataset({dataset: 'cifar10', image_size: 32}, {dataDir: dir}))
      assert.ok(msg.includes(`${py} holds the python version (pickled batches) of cifar10, which is not read: only its binary version is (https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz)`), msg)
    }
    // A folder of another dataset's layout (a train/ folder) is not taken for CIFAR-100's python version.
    write(join(tmp, 'imgs', 'train', 'a', 'x.png'), Uint8Array.from([0]))
    assert.doesNotMatch(await dataError(() => loadDataset({dataset: 'cifar100', image_size: 32}, {dataDir: join(tmp, 'imgs')})), /python version/)
  })

  it('names the present and the missing files of an incomplete folder', async () => {
    const d = join(tmp, 'partial', 'stl10')
    write(join(d, 'train_X.bin'), new Uint8Array(27648))
    write(join(d, 'train_y.bin'), Uint8Array.from([1]))
    const msg = await dataError(() => loadDataset({dataset: 'stl10', image_size: 96}, {dataDir: join(tmp, 'partial')}))
    assert.match(msg, /Dataset 'stl10' is incomplete/)
    assert.ok(msg.includes(`${d} holds train_X.bin and train_y.bin but not test_X.bin and test_y.bin`), msg)
    assert.match(msg, /stl10_binary\.tar\.gz/)
  })

  it('mentions the Debian folder for Fashion-MNIST and the gzip option', async () => {
    const {whereToPutFiles, dataDirEntries} = await import('../../src/data/locate.js')
    const msg = whereToPutFiles('fashion_mnist', dataDirEntries([join(tmp, 'x')]))
    assert.match(msg, /train-images-idx3-ubyte\.gz, train-labels-idx1-ubyte\.gz, t10k-images-idx3-ubyte\.gz and t10k-labels-idx1-ubyte\.gz \(gzip'd or not\)/)
    assert.match(msg, /\/usr\/share\/datasets\/fashion-mnist/)
  })
})
