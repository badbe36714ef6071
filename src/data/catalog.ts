/**
 * Registry-independent metadata for the datasets `mixture` knows: names, class names, native
 * sizes, the official file names, where the official files are published and their checksums.
 * The registry's dataset entries (official.ts, which `mixture list` shows), the loaders and
 * `mixture data fetch` (`fetchDataset`) read the same table.
 */

export interface DatasetInfo {
  name: string
  summary: string
  numClasses: number
  /** Side of the square images as published (the loader resizes or pads to `image_size`). */
  nativeSize: number
  /** Canonical file names, as they appear in the official release. */
  files: {train: string[]; test: string[]}
  /** Official download address (archive, or folder of files). */
  url?: string
  classNames: string[]
  /** CIFAR-100 only: the 20 superclasses used with `label_mode: coarse`. */
  coarseClassNames?: string[]
  /** Where the dataset is documented. */
  homepage?: string
}

/** One downloadable file: the official address and the checksum of the file as published. */
export interface DownloadFile {
  url: string
  /** File name to store it under (the last path component of `url`). */
  name: string
  md5?: string
  sha256?: string
  /** Approximate size, for messages only. */
  bytes?: number
}

/** How a dataset is obtained and laid out on disk (internal to src/data). */
export interface DatasetLayout {
  /** Folder names to look for under a data directory, most specific first. */
  dirNames: string[]
  /** Extra absolute folders that may hold the files (e.g. a Debian package). */
  systemDirs: string[]
  /** For each canonical file name, the other names accepted for it (un-gzipped copies, ...). */
  aliases: Record<string, string[]>
  /** A .tar.gz archive holding the files under `archiveDir/`, or plain files to download. */
  download?: {kind: 'tar.gz'; archive: DownloadFile; archiveDir: string} | {kind: 'files'; files: DownloadFile[]}
  /** Other published versions of the dataset, which are not read: the folder each unpacks to, a file it holds, and what it is (a message names one found in place of the files). */
  otherVersions?: {dirName: string; marker: string; what: string}[]
}

const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']

const CIFAR100_FINE = [
  'apple', 'aquarium_fish', 'baby', 'bear', 'beaver', 'bed', 'bee', 'beetle', 'bicycle', 'bottle',
  'bowl', 'boy', 'bridge', 'bus', 'butterfly', 'camel', 'can', 'castle', 'caterpillar', 'cattle',
  'chair', 'chimpanzee', 'clock', 'cloud', 'cockroach', 'couch', 'crab', 'crocodile', 'cup', 'dinosaur',
  'dolphin', 'elephant', 'flatfish', 'forest', 'fox', 'girl', 'hamster', 'house', 'kangaroo', 'keyboard',
  'lamp', 'lawn_mower', 'leopard', 'lion', 'lizard', 'lobster', 'man', 'maple_tree', 'motorcycle', 'mountain',
  'mouse', 'mushroom', 'oak_tree', 'orange', 'orchid', 'otter', 'palm_tree', 'pear', 'pickup_truck', 'pine_tree',
  'plain', 'plate', 'poppy', 'porcupine', 'possum', 'rabbit', 'raccoon', 'ray', 'road', 'rocket',
  'rose', 'sea', 'seal', 'shark', 'shrew', 'skunk', 'skyscraper', 'snail', 'snake', 'spider',
  'squirrel', 'streetcar', 'sunflower', 'sweet_pepper', 'table', 'tank', 'telephone', 'television', 'tiger', 'tractor',
  'train', 'trout', 'tulip', 'turtle', 'wardrobe', 'whale', 'willow_tree', 'wolf', 'woman', 'worm',
]

const CIFAR100_COARSE = [
  'aquatic_mammals', 'fish', 'flowers', 'food_containers', 'fruit_and_vegetables',
  'household_electrical_devices', 'household_furniture', 'insects', 'large_carnivores',
  'large_man-made_outdoor_things', 'large_natural_outdoor_scenes', 'large_omnivores_and_herbivores',
  'medium_mammals', 'non-insect_invertebrates', 'people', 'reptiles', 'small_mammals', 'trees',
  'vehicles_1', 'vehicles_2',
]

const STL10_CLASSES = ['airplane', 'bird', 'car', 'cat', 'deer', 'dog', 'horse', 'monkey', 'ship', 'truck']

const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']

const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']

const IDX_FILES = {
  train: ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'],
  test: ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'],
}

/** Un-gzipped copies are accepted too, under the plain name or the old `train-images.idx3-ubyte` spelling. */
function idxAliases(): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const f of [...IDX_FILES.train, ...IDX_FILES.test]) {
    const plain = f.replace(/\.gz$/, '')
    out[f] = [plain, plain.replace(/-idx(\d)-/, '.idx$1-')]
  }
  return out
}

export const DATASETS: Record<string, DatasetInfo> = {
  cifar10: {
    name: 'cifar10',
    summary: 'CIFAR-10: 60,000 32×32 colour images in 10 classes (50,000 train / 10,000 test), binary version.',
    numClasses: 10,
    nativeSize: 32,
    files: {train: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'], test: ['test_batch.bin']},
    url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
    homepage: 'https://www.cs.toronto.edu/~kriz/cifar.html',
    classNames: CIFAR10_CLASSES,
  },
  cifar100: {
    name: 'cifar100',
    summary: 'CIFAR-100: 60,000 32×32 colour images, 100 fine classes in 20 superclasses (50,000 train / 10,000 test), binary version.',
    numClasses: 100,
    nativeSize: 32,
    files: {train: ['train.bin'], test: ['test.bin']},
    url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
    homepage: 'https://www.cs.toronto.edu/~kriz/cifar.html',
    classNames: CIFAR100_FINE,
    coarseClassNames: CIFAR100_COARSE,
  },
  stl10: {
    name: 'stl10',
    summary: 'STL-10: 96×96 colour images in 10 classes (5,000 labelled train / 8,000 test), binary version; unlabelled split not used.',
    numClasses: 10,
    nativeSize: 96,
    files: {train: ['train_X.bin', 'train_y.bin'], test: ['test_X.bin', 'test_y.bin']},
    url: 'http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz',
    homepage: 'https://cs.stanford.edu/~acoates/stl10/',
    classNames: STL10_CLASSES,
  },
  fashion_mnist: {
    name: 'fashion_mnist',
    summary: 'Fashion-MNIST: 70,000 28×28 greyscale Zalando article images in 10 classes (60,000 train / 10,000 test), IDX format.',
    numClasses: 10,
    nativeSize: 28,
    files: IDX_FILES,
    url: 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
    homepage: 'https://github.com/zalandoresearch/fashion-mnist',
    classNames: FASHION_CLASSES,
  },
  mnist: {
    name: 'mnist',
    summary: 'MNIST: 70,000 28×28 greyscale handwritten digits (60,000 train / 10,000 test), IDX format.',
    numClasses: 10,
    nativeSize: 28,
    files: IDX_FILES,
    url: 'https://ossci-datasets.s3.amazonaws.com/mnist/',
    homepage: 'http://yann.lecun.com/exdb/mnist/',
    classNames: MNIST_CLASSES,
  },
  synthetic: {
    name: 'synthetic',
    summary: 'Seeded synthetic shapes and stripes (class-dependent pattern and colour plus noise), generated in memory; any size and class count.',
    numClasses: 10,
    nativeSize: 32,
    files: {train: [], test: []},
    classNames: Array.from({length: 10}, (_, i) => `class_${i}`),
  },
}

const MNIST_MIRROR = 'https://ossci-datasets.s3.amazonaws.com/mnist/'
const FASHION_MIRROR = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/'

export const LAYOUTS: Record<string, DatasetLayout> = {
  cifar10: {
    dirNames: ['cifar10/cifar-10-batches-bin', 'cifar10', 'cifar-10-batches-bin', 'cifar-10'],
    systemDirs: [],
    aliases: {},
    otherVersions: [
      {dirName: 'cifar-10-batches-py', marker: 'data_batch_1', what: 'python version (pickled batches)'},
      {dirName: 'cifar-10-batches-mat', marker: 'data_batch_1.mat', what: 'MATLAB version'},
    ],
    download: {
      kind: 'tar.gz',
      archiveDir: 'cifar-10-batches-bin',
      archive: {url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz', name: 'cifar-10-binary.tar.gz', md5: 'c32a1d4ab5d03f1284b67883e8d87530', sha256: 'c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd', bytes: 170052171},
    },
  },
  cifar100: {
    dirNames: ['cifar100/cifar-100-binary', 'cifar100', 'cifar-100-binary', 'cifar-100'],
    systemDirs: [],
    aliases: {},
    otherVersions: [
      {dirName: 'cifar-100-python', marker: 'train', what: 'python version (pickled)'},
      {dirName: 'cifar-100-matlab', marker: 'train.mat', what: 'MATLAB version'},
    ],
    download: {
      kind: 'tar.gz',
      archiveDir: 'cifar-100-binary',
      archive: {url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz', name: 'cifar-100-binary.tar.gz', md5: '03b5dce01913d631647c71ecec9e9cb8'},
    },
  },
  stl10: {
    dirNames: ['stl10/stl10_binary', 'stl10', 'stl10_binary', 'stl-10'],
    systemDirs: [],
    aliases: {},
    otherVersions: [{dirName: 'stl10_matlab', marker: 'train.mat', what: 'MATLAB version'}],
    download: {
      kind: 'tar.gz',
      archiveDir: 'stl10_binary',
      archive: {url: 'http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz', name: 'stl10_binary.tar.gz', md5: '91f7769df0f17e558f3565bffb0c7dfb'},
    },
  },
  fashion_mnist: {
    dirNames: ['fashion_mnist', 'fashion-mnist', 'FashionMNIST/raw'],
    systemDirs: ['/usr/share/datasets/fashion-mnist'],
    aliases: idxAliases(),
    download: {
      kind: 'files',
      files: [
        {url: `${FASHION_MIRROR}train-images-idx3-ubyte.gz`, name: 'train-images-idx3-ubyte.gz', md5: '8d4fb7e6c68d591d4c3dfef9ec88bf0d'},
        {url: `${FASHION_MIRROR}train-labels-idx1-ubyte.gz`, name: 'train-labels-idx1-ubyte.gz', md5: '25c81989df183df01b3e8a0aad5dffbe'},
        {url: `${FASHION_MIRROR}t10k-images-idx3-ubyte.gz`, name: 't10k-images-idx3-ubyte.gz', md5: 'bef4ecab320f06d8554ea6380940ec79'},
        {url: `${FASHION_MIRROR}t10k-labels-idx1-ubyte.gz`, name: 't10k-labels-idx1-ubyte.gz', md5: 'bb300cfdad3c16e7a12a480ee83cd310'},
      ],
    },
  },
  mnist: {
    dirNames: ['mnist', 'MNIST/raw'],
    systemDirs: [],
    aliases: idxAliases(),
    download: {
      kind: 'files',
      files: [
        {url: `${MNIST_MIRROR}train-images-idx3-ubyte.gz`, name: 'train-images-idx3-ubyte.gz', md5: 'f68b3c2dcbeaaa9fbdd348bbdeb94873'},
        {url: `${MNIST_MIRROR}train-labels-idx1-ubyte.gz`, name: 'train-labels-idx1-ubyte.gz', md5: 'd53e105ee54ea40749a09fcbcd1e9432'},
        {url: `${MNIST_MIRROR}t10k-images-idx3-ubyte.gz`, name: 't10k-images-idx3-ubyte.gz', md5: '9fb629c4189551a2d022fa330f9573f3'},
        {url: `${MNIST_MIRROR}t10k-labels-idx1-ubyte.gz`, name: 't10k-labels-idx1-ubyte.gz', md5: 'ec29112dd5afa0611ce80d1b7f02629c'},
      ],
    },
  },
  synthetic: {dirNames: [], systemDirs: [], aliases: {}},
}

/** Official number of examples per split, to note when a loaded file set is smaller. */
export const OFFICIAL_COUNTS: Record<string, {train: number; test: number}> = {
  cifar10: {train: 50000, test: 10000},
  cifar100: {train: 50000, test: 10000},
  stl10: {train: 5000, test: 8000},
  fashion_mnist: {train: 60000, test: 10000},
  mnist: {train: 60000, test: 10000},
}

