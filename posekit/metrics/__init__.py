"""Pure metric functions: COCO AP/OKS, PCK/PCKh/AUC/EPE, MPJPE and its variants, PVE."""
