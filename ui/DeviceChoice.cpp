#include "DeviceChoice.h"

#include <QComboBox>
#include <QStandardItemModel>
#include <algorithm>

namespace studio {

void fillDeviceCombo(QComboBox* combo, const selfextend::GpuAvailability& gpu) {
    const QString reason = QString::fromStdString(gpu.reason);
    combo->clear();
    combo->addItem(QObject::tr("Auto"));
    combo->addItem(QObject::tr("CPU"));
    combo->addItem(QObject::tr("GPU (CUDA)"));
    combo->setItemData(kDeviceAuto,
                       gpu.available
                           ? QObject::tr("The GPU, when the model runs there; else the CPU")
                           : QObject::tr("The CPU here: %1").arg(reason),
                       Qt::ToolTipRole);
    combo->setItemData(kDeviceCpu, QObject::tr("The CPU, whatever GPU there is"), Qt::ToolTipRole);
    if (!gpu.available) {
        combo->setItemData(kDeviceGpu, reason, Qt::ToolTipRole);
        if (auto* items = qobject_cast<QStandardItemModel*>(combo->model()))
            items->item(kDeviceGpu)->setEnabled(false);
    }
}

int usableDevice(int wanted, const selfextend::GpuAvailability& gpu) {
    const int device = std::clamp(wanted, int(kDeviceAuto), int(kDeviceGpu));
    return device == kDeviceGpu && !gpu.available ? kDeviceAuto : device;
}

}  // namespace studio
