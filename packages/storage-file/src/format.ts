/** The on-disk layout version this package writes, and the newest it reads. A newer file is refused. */
export const FORMAT_VERSION = 1;
