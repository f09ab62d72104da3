#ifndef QSSL_CUDEV_SHIM_H
#define QSSL_CUDEV_SHIM_H
/* libudev for hot-plug detection (Debian libudev-dev). A module of its own so only Sources/QSSL/Hotplug sees it. */
#include <libudev.h>
#endif
