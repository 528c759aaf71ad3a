"""Backbones written in the project: ResNet, VGG, HRNet, hourglass."""
