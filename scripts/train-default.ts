/**
 * Trains the default model multav ships (models/default): `multav train` with the defaults — a
 * torchvision-layout 3D ResNet-18 of widths 8-16-32-64 on the shipped benchmark's 600 training clips,
 * 25 epochs of SGD (batch 8, momentum 0.9, weight decay 5e-4), cosine learning rate from 0.05. Resumable.
 *
 * Run: node --import tsx scripts/train-default.ts   (the same as: multav train --out models/default --resume)
 */
import { main } from '../src/cli/main.js'

process.exitCode = await main(['train', '--out', 'models/default', '--resume', ...process.argv.slice(2)])
