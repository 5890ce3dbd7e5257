// The file dialog's filter and the hints that name document types, built from the engine's one
// list of formats (selfextend::document_formats()).
#pragma once

#include <QObject>
#include <QString>
#include <QStringList>

#include "selfextend/document.h"

namespace studio {

// "Documents (*.txt … *.pdf);;Plain text (*.txt *.text);;…;;All files (*)".
inline QString documentFileFilter() {
    QStringList filters{
        QObject::tr("Documents (%1)").arg(QString::fromStdString(selfextend::document_patterns()))};
    for (const selfextend::DocumentFormat& format : selfextend::document_formats()) {
        QStringList patterns;
        for (const std::string_view extension : format.extensions)
            patterns << QStringLiteral("*") +
                            QString::fromUtf8(extension.data(), qsizetype(extension.size()));
        filters << QStringLiteral("%1 (%2)").arg(
            QString::fromUtf8(format.name.data(), qsizetype(format.name.size())),
            patterns.join(QLatin1Char(' ')));
    }
    filters << QObject::tr("All files (*)");
    return filters.join(QStringLiteral(";;"));
}

// ".txt, .md, .html, .epub or .pdf".
inline QString documentExtensionsPhrase() {
    return QString::fromStdString(selfextend::document_extensions_phrase());
}

}  // namespace studio
