// The device a model loads on (Auto, CPU, GPU), as the model panel and Settings both offer it:
// the GPU item disabled, with the reason in plain words, where this build or machine cannot run
// a model on a GPU, so that a choice that would fail cannot be made (or saved).
#pragma once

#include "selfextend/engine.h"

class QComboBox;

namespace studio {

// The combo boxes' order, which is also what QSettings' "device" stores.
enum DeviceIndex { kDeviceAuto = 0, kDeviceCpu = 1, kDeviceGpu = 2 };

// Fills `combo` with the three choices (replacing what it held), the GPU disabled with the
// reason as its tooltip when `gpu` is not available.
void fillDeviceCombo(QComboBox* combo, const selfextend::GpuAvailability& gpu);
// The index to show for `wanted` (saved or asked for): Auto instead of a GPU that is not there.
int usableDevice(int wanted, const selfextend::GpuAvailability& gpu);

}  // namespace studio
