// Document loading: text files come back as UTF-8 without BOM or carriage returns, invalid
// UTF-8 is replaced and flagged, empty/binary/missing files are errors; HTML is reduced to its
// visible text.
#include <unistd.h>
#include <zip.h>
#include <QFile>
#include <QTemporaryDir>
#include <QTemporaryFile>
#include <QtTest>
#include <cstdio>

#include "pdf_bytes.h"
#include "selfextend/document.h"
#include "selfextend/error.h"
#include "test_paths.h"

using namespace selfextend;

namespace {

QByteArray B(const std::string& s) {
    return QByteArray(s.data(), qsizetype(s.size()));
}

const char kReplacement[] = "\xEF\xBF\xBD";

using testing::error_of;

using ZipEntries = std::vector<std::pair<std::string, std::string>>;  // name, contents

// Writes a zip archive with libzip, entries in the order given.
void write_zip(const std::string& path, const ZipEntries& entries) {
    int error = 0;
    zip_t* zip = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
    if (!zip) qFatal("cannot create %s", path.c_str());
    for (const auto& [name, contents] : entries) {
        // The data is read at zip_close, while `entries` is still alive.
        zip_source_t* source = zip_source_buffer(zip, contents.data(), contents.size(), 0);
        if (!source || zip_file_add(zip, name.c_str(), source, ZIP_FL_ENC_UTF_8) < 0) {
            zip_source_free(source);
            qFatal("cannot add %s", name.c_str());
        }
    }
    if (zip_close(zip) != 0) qFatal("cannot write %s", path.c_str());
}

const char kContainer[] =
    "<?xml version=\"1.0\"?>\n"
    "<container version=\"1.0\" xmlns=\"urn:oasis:names:tc:opendocument:xmlns:container\">"
    "<rootfiles><rootfile full-path=\"OEBPS/content.opf\" "
    "media-type=\"application/oebps-package+xml\"/></rootfiles></container>";

std::string chapter(const std::string& title, const std::string& body) {
    return "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!DOCTYPE html>\n"
           "<html xmlns=\"http://www.w3.org/1999/xhtml\"><head><title>" +
           title + "</title><link rel=\"stylesheet\" href=\"style.css\"/></head><body>" + body +
           "</body></html>";
}

// A package with the manifest given as <item> elements and the spine as idrefs.
std::string package(const std::string& items, const std::vector<std::string>& spine) {
    std::string refs;
    for (const std::string& id : spine) refs += "<itemref idref=\"" + id + "\"/>";
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
           "<package xmlns=\"http://www.idpf.org/2007/opf\" version=\"3.0\" "
           "unique-identifier=\"id\"><metadata xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
           "<dc:title>Book</dc:title></metadata><manifest>" +
           items + "</manifest><spine>" + refs + "</spine></package>";
}

}  // namespace

class TestDocument : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;

    std::string write(const QString& name, const QByteArray& bytes) {
        const QString path = dir_.path() + "/" + name;
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size())
            qFatal("cannot write %s", qPrintable(path));
        return path.toStdString();
    }

  private slots:
    void initTestCase() { QVERIFY(dir_.isValid()); }

    // Plain text in a legacy encoding is detected (uchardet) and converted, and says which; bytes
    // no encoding explains are still replaced and flagged.
    void legacyEncodingsAreDetected() {
        // "Café naïve, déjà vu. Œuvre à côté de l'église." in Latin-1 / Windows-1252.
        const QByteArray latin1 = QString(
                                      "Le café est naïf, déjà vu, à côté de l'église. Très "
                                      "bien, merci; à bientôt, garçon.\n")
                                      .toLatin1();
        const Document latin = load_text_document(write("latin1.txt", latin1));
        QCOMPARE(QString::fromStdString(latin.text),
                 QString("Le café est naïf, déjà vu, à côté de l'église. Très bien, merci; à "
                         "bientôt, garçon.\n"));
        QVERIFY(!latin.had_invalid_utf8);
        QVERIFY2(latin.encoding == "ISO-8859-1" || latin.encoding == "WINDOWS-1252",
                 latin.encoding.c_str());
        // Cyrillic in KOI8-R.
        const QByteArray koi8 = QByteArray::fromHex(
            "f0d2c9d7c5d420cdc9d22c20dcd4cf20d4c5d3d420cec120d2d5d3d3cbcfcd"
            "20d1dad9cbc52e20f0d2c9d7c5d420cdc9d22c20dcd4cf20d4c5d3d42e0a");
        const Document russian = load_text_document(write("koi8.txt", koi8));
        QVERIFY2(QString::fromStdString(russian.text).startsWith("Привет мир, это тест на русском"),
                 russian.text.c_str());
        QVERIFY(!russian.encoding.empty());
        // UTF-8 says nothing.
        QVERIFY(load_text_document(write("utf8.txt", "café\n")).encoding.empty());
    }

    // One list of formats: the phrase and patterns the CLI and the studio show come from it,
    // and the reader dispatches on it (upper-case extensions too).
    void formatsComeFromOneList() {
        QCOMPARE(document_extensions_phrase(), std::string(".txt, .md, .html, .epub or .pdf"));
        QCOMPARE(document_patterns(),
                 std::string("*.txt *.text *.md *.markdown *.html *.htm *.xhtml *.epub *.pdf"));
        QCOMPARE(document_formats().size(), size_t(5));
        QCOMPARE(load_text_document(write("page.XHTML", "<p>a &amp; b</p>")).text,
                 std::string("a & b"));
        QCOMPARE(load_text_document(write("notes.markdown", "# A <b>title</b>\n")).text,
                 std::string("# A <b>title</b>\n"));
    }

    void plainText() {
        const QByteArray text =
            "The pass key is 38117.\nRemember it.\n\n  Indented — “quoted” 東京 🙂\n";
        const std::string path = write("plain.txt", text);
        const Document d = load_text_document(path);
        QCOMPARE(QString::fromStdString(d.path), QString::fromStdString(path));
        QCOMPARE(B(d.text), text);
        QVERIFY(!d.had_invalid_utf8);
        // Markdown is read as it is.
        const QByteArray md = "# Title\n\n* item with <b>markup</b> &amp; stays\n";
        QCOMPARE(B(load_text_document(write("notes.md", md)).text), md);
    }

    void byteOrderMarkIsDropped() {
        const Document d = load_text_document(write("bom.txt", "\xEF\xBB\xBFHello, BOM.\n"));
        QCOMPARE(B(d.text), QByteArray("Hello, BOM.\n"));
        QVERIFY(!d.had_invalid_utf8);
        // Only a leading BOM is a BOM; one inside the text is a character (U+FEFF).
        const Document inner = load_text_document(write("inner-bom.txt",
                                                        "a\xEF\xBB\xBF"
                                                        "b"));
        QCOMPARE(B(inner.text), QByteArray("a\xEF\xBB\xBF"
                                           "b"));
    }

    void carriageReturnsAreRemoved() {
        const Document d = load_text_document(write("crlf.txt", "line one\r\nline two\r\n\r\nend"));
        QCOMPARE(B(d.text), QByteArray("line one\nline two\n\nend"));
        const Document both = load_text_document(write("bom-crlf.txt", "\xEF\xBB\xBFx\r\ny\r\n"));
        QCOMPARE(B(both.text), QByteArray("x\ny\n"));
    }

    void invalidUtf8IsReplacedAndFlagged() {
        // UTF-8 (an é) with damage: a Latin-1 é, a lone continuation byte, an overlong slash and
        // a surrogate. Valid UTF-8 sequences say the file is UTF-8: no legacy encoding is tried.
        const Document d = load_text_document(
            write("damaged.txt", "th\xC3\xA9 caf\xE9 au lait\n\x80 x \xC0\xAF y \xED\xA0\x80 z\n"));
        QVERIFY(d.had_invalid_utf8);
        QVERIFY(d.encoding.empty());
        const QByteArray r(kReplacement);
        QCOMPARE(B(d.text), "th\xC3\xA9 caf" + r + " au lait\n" + r + " x " + r + r + " y " + r +
                                r + r + " z\n");
        // Valid text around it is untouched, including a real U+FFFD, which alone is no flag.
        const Document ok =
            load_text_document(write("fffd.txt", QByteArray("already ") + r + " here"));
        QVERIFY(!ok.had_invalid_utf8);
        QCOMPARE(B(ok.text), QByteArray("already ") + r + " here");
        // Damaged UTF-8 with CRLF: both fixes apply.
        const Document both = load_text_document(write("both.txt", "\xC3\xA9a\xFF\r\nb"));
        QVERIFY(both.had_invalid_utf8);
        QCOMPARE(B(both.text), "\xC3\xA9a" + r + "\nb");
    }

    void emptyAndWhitespaceFilesAreErrors() {
        QVERIFY(error_of([&] { load_text_document(write("empty.txt", "")); }).contains("empty"));
        QVERIFY(error_of([&] {
                    load_text_document(write("spaces.txt", " \t\r\n\n  \f"));
                }).contains("empty"));
        QVERIFY(error_of([&] {
                    load_text_document(write("bom-only.txt", "\xEF\xBB\xBF"));
                }).contains("empty"));
        QVERIFY(error_of([&] {
                    load_text_document(write("bom-space.txt", "\xEF\xBB\xBF \n"));
                }).contains("empty"));
        // One visible character is enough.
        QCOMPARE(B(load_text_document(write("one.txt", "\n\n.\n")).text), QByteArray("\n\n.\n"));
    }

    void binaryFilesAreErrors() {
        QByteArray nul("text then a NUL");
        nul.append('\0');
        nul.append("and more text");
        QVERIFY(error_of([&] { load_text_document(write("nul.txt", nul)); }).contains("binary"));
        QByteArray png("\x89PNG\r\n\x1a\n", 8);
        png.append(QByteArray(64, '\0'));
        QVERIFY(error_of([&] { load_text_document(write("image.png", png)); }).contains("binary"));
        QVERIFY(error_of([&] {
                    load_text_document(dir_.path().toStdString());
                }).contains("not a file"));
        // A PDF header with no PDF behind it is a damaged PDF, not binary text.
        QByteArray pdf("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n");
        const QString damaged = error_of([&] { load_text_document(write("paper.pdf", pdf)); });
        QVERIFY2(damaged.contains("damaged PDF"), qPrintable(damaged));
        // Mostly control characters, no NUL.
        QByteArray controls;
        for (int k = 0; k < 200; ++k) controls.append(char(1 + k % 8));
        QVERIFY(error_of([&] {
                    load_text_document(write("controls.bin", controls));
                }).contains("binary"));
        // UTF-16 text has NULs: refused rather than shown as garbage.
        QVERIFY(!error_of([&] {
                     load_text_document(write("utf16.txt", QByteArray("\xFF\xFEh\0i\0", 6)));
                 }).isEmpty());
    }

    void missingOrUnreadableFilesAreErrors() {
        const QString missing = error_of(
            [&] { load_text_document((dir_.path() + "/does-not-exist.txt").toStdString()); });
        QVERIFY(!missing.isEmpty());
        QVERIFY2(missing.contains("does-not-exist.txt"), qPrintable(missing));
        QVERIFY(!error_of([&] { load_text_document(""); }).isEmpty());
        QVERIFY(!error_of([&] {
                     load_text_document(dir_.path().toStdString());
                 }).isEmpty());  // a directory
    }

    void htmlFilesAreReducedToText() {
        const std::string path = write(
            "page.HTML", "<html><body><h1>Title</h1><p>Some &amp; text</p></body></html>\r\n");
        const Document d = load_text_document(path);
        QCOMPARE(B(d.text), QByteArray("Title\nSome & text"));
        QVERIFY(error_of([&] {
                    load_text_document(write("blank.htm", "<html><script>x()</script></html>"));
                }).contains("no visible text"));
    }

    void htmlToText() {
        const std::string page =
            "<!DOCTYPE html>\n"
            "<html><head><style>p { color: red; } /* <p>not text</p> */</style>\n"
            "<script type=\"text/javascript\">var s = \"<p>not text</p>\"; if (a < b && c > d) "
            "{}</script>\n"
            "<SCRIPT>document.write('<b>hidden</b>')</SCRIPT></head>\n"
            "<body><!-- a comment <p>hidden</p> -->"
            "<h1 class=\"t\">Title &amp; more</h1>\n"
            "<p>First   paragraph\n   with &lt;tags&gt; &quot;quoted&quot; &apos;x&apos; "
            "&#x41;&#65;&#X42; "
            "&#x1F600; &#233; &eacute; &mdash; &hellip;</p>"
            "<div>Block<br>line two<br/>line three</div>\n"
            "<ul>\n  <li>one</li>\n  <li><a href=\"#\">two</a></li>\n</ul>"
            "<p>in<b>line</b> <i>tags</i> keep words</p>"
            "</body></html>\n";
        const std::string want =
            "Title & more\n"
            "First paragraph with <tags> \"quoted\" 'x' AAB \xF0\x9F\x98\x80 \xC3\xA9 \xC3\xA9 "
            "\xE2\x80\x94 \xE2\x80\xA6\n"
            "Block\n"
            "line two\n"
            "line three\n"
            "one\n"
            "two\n"
            "inline tags keep words";
        QCOMPARE(B(html_to_text(page)), B(want));
    }

    // Every HTML named entity, not only a basic few.
    void htmlNamedEntities() {
        QCOMPARE(B(html_to_text("caf&eacute;&hellip; &euro;5 &copy; &alpha;&beta; &frac12; "
                                "&Uuml;ber &rarr; &trade;")),
                 QByteArray("caf\xC3\xA9\xE2\x80\xA6 \xE2\x82\xAC"
                            "5 \xC2\xA9 \xCE\xB1\xCE\xB2 \xC2\xBD \xC3\x9C"
                            "ber \xE2\x86\x92 \xE2\x84\xA2"));
    }

    // <meta charset> (or the older http-equiv form) says how the bytes are encoded: a Latin-1
    // é is é, not invalid UTF-8. Without a declaration the bytes are UTF-8, invalid ones
    // replaced and flagged, as for plain text.
    void htmlMetaCharsetIsHonoured() {
        const Document latin1 = load_text_document(
            write("latin1.html",
                  "<html><head><meta charset=\"iso-8859-1\"><title>T</title></head>"
                  "<body><p>caf\xE9 cr\xE8me</p></body></html>"));
        QCOMPARE(B(latin1.text), QByteArray("T\ncaf\xC3\xA9 cr\xC3\xA8me"));
        QVERIFY(!latin1.had_invalid_utf8);
        const Document cp1252 = load_text_document(
            write("cp1252.htm",
                  "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; "
                  "charset=windows-1252\"></head><body>\x93quoted\x94 \x80</body></html>"));
        QCOMPARE(B(cp1252.text), QByteArray("\xE2\x80\x9Cquoted\xE2\x80\x9D \xE2\x82\xAC"));
        QVERIFY(!cp1252.had_invalid_utf8);

        const QByteArray r(kReplacement);
        const Document undeclared =
            load_text_document(write("undeclared.html", "<p>caf\xE9 \xC3\xA9t\xC3\xA9</p>"));
        QVERIFY(undeclared.had_invalid_utf8);
        QCOMPARE(B(undeclared.text), "caf" + r + " \xC3\xA9t\xC3\xA9");
        // Declared UTF-8 with one stray byte: only that byte is replaced, what follows stays
        // UTF-8 (libxml2 alone would read the rest as Latin-1).
        const Document stray = load_text_document(
            write("stray.html", "<meta charset=\"utf-8\"><p>\xFF \xC3\xA9t\xC3\xA9</p>"));
        QVERIFY(stray.had_invalid_utf8);
        QCOMPARE(B(stray.text), r + " \xC3\xA9t\xC3\xA9");
    }

    void htmlQuotedAttributesAndScripts() {
        // A '>' inside a quoted attribute value does not end the tag.
        QCOMPARE(B(html_to_text("<p><a title=\"a > b\" href='x>y'>link</a> text</p>"
                                "<img alt=\">\">after")),
                 QByteArray("link text\nafter"));
        // Script and style contents are never text, whatever they hold.
        QCOMPARE(B(html_to_text("<p>before</p><script>var s = '<p>no</p>'; if (a<b) f();"
                                "</script><style>p::after { content: '<b>no</b>' }</style>"
                                "<p>after</p>")),
                 QByteArray("before\nafter"));
    }

    // libxml2 would print its complaints about bad markup to stderr (and so into the CLI's
    // output); they are switched off.
    void htmlParserPrintsNothing() {
        fflush(stderr);
        const int saved = dup(2);
        QTemporaryFile captured;
        QVERIFY(captured.open());
        dup2(captured.handle(), 2);
        const std::string text =
            html_to_text("<p>unclosed <b><i>tags</b></i><td>cell<bogus attr=>&nosuch; x</p>");
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
        QVERIFY(!text.empty());
        QCOMPARE(captured.readAll(), QByteArray());
    }

    // The text comes in spine order, which here differs from both the manifest's order and
    // the zip's; hrefs are relative to the package (with "..", a subfolder, a %20, a fragment);
    // stylesheets and images in the manifest are no text, and chapter titles are metadata.
    void epubChaptersInSpineOrder() {
        const std::string items =
            "<item id=\"c1\" href=\"one.xhtml\" media-type=\"application/xhtml+xml\"/>"
            "<item id=\"c2\" href=\"text/chapter%202.xhtml#start\" "
            "media-type=\"application/xhtml+xml\"/>"
            "<item id=\"c3\" href=\"../Extra/three.xhtml\" media-type=\"application/xhtml+xml\"/>"
            "<item id=\"css\" href=\"style.css\" media-type=\"text/css\"/>"
            "<item id=\"cover\" href=\"cover.png\" media-type=\"image/png\"/>";
        const std::string path = dir_.filePath("book.epub").toStdString();
        write_zip(path, {{"mimetype", "application/epub+zip"},
                         {"META-INF/container.xml", kContainer},
                         {"OEBPS/one.xhtml", chapter("Book",
                                                     "<h1>Chapter One</h1><p>The first "
                                                     "&amp; earliest&hellip;</p>")},
                         {"OEBPS/text/chapter 2.xhtml",
                          chapter("Book", "<h1>Chapter Two</h1><p>Caf&eacute;<br/>second</p>")},
                         {"Extra/three.xhtml", chapter("Book", "<p>Prologue, read first.</p>")},
                         {"OEBPS/style.css", "p { margin: 0 }"},
                         {"OEBPS/content.opf", package(items, {"c3", "cover", "c1", "c2"})}});
        const Document d = load_text_document(path);
        QCOMPARE(B(d.text), QByteArray("Prologue, read first.\n\n"
                                       "Chapter One\nThe first & earliest\xE2\x80\xA6\n\n"
                                       "Chapter Two\nCaf\xC3\xA9\nsecond"));
        QVERIFY(!d.had_invalid_utf8);
    }

    void epubErrors() {
        const auto epub_error = [&](const char* name, const ZipEntries& entries) {
            const std::string path = dir_.filePath(name).toStdString();
            write_zip(path, entries);
            return error_of([&] { load_text_document(path); });
        };
        const std::string one_chapter = package(
            "<item id=\"c1\" href=\"one.xhtml\" media-type=\"application/xhtml+xml\"/>", {"c1"});
        const ZipEntries good{{"META-INF/container.xml", kContainer},
                              {"OEBPS/content.opf", one_chapter},
                              {"OEBPS/one.xhtml", chapter("T", "<p>Text.</p>")}};
        QCOMPARE(epub_error("good.epub", good), QString());

        // Not a zip at all, and a zip cut short (its directory is at the end).
        QString error = error_of([&] { load_text_document(write("text.epub", "plain text")); });
        QVERIFY2(error.contains("not a readable zip archive"), qPrintable(error));
        QFile whole(dir_.filePath("good.epub"));
        QVERIFY(whole.open(QIODevice::ReadOnly));
        const QByteArray bytes = whole.readAll();
        error =
            error_of([&] { load_text_document(write("cut.epub", bytes.left(bytes.size() / 2))); });
        QVERIFY2(error.contains("not a readable zip archive"), qPrintable(error));

        error = epub_error("no-container.epub", {good[1], good[2]});
        QVERIFY2(error.contains("no META-INF/container.xml"), qPrintable(error));
        error = epub_error("no-package.epub", {good[0], good[2]});
        QVERIFY2(error.contains("OEBPS/content.opf") && error.contains("missing"),
                 qPrintable(error));
        error = epub_error("empty-spine.epub",
                           {good[0], {"OEBPS/content.opf", package("", {})}, good[2]});
        QVERIFY2(error.contains("spine lists no chapters"), qPrintable(error));
        error = epub_error("missing-chapter.epub", {good[0], good[1]});
        QVERIFY2(error.contains("OEBPS/one.xhtml") && error.contains("missing"), qPrintable(error));

        // DRM: content encrypted with a key the reader does not have.
        const auto encryption = [](const char* algorithm) {
            return std::string(
                       "<encryption xmlns=\"urn:oasis:names:tc:opendocument:xmlns:container\" "
                       "xmlns:enc=\"http://www.w3.org/2001/04/xmlenc#\"><enc:EncryptedData>"
                       "<enc:EncryptionMethod Algorithm=\"") +
                   algorithm +
                   "\"/><enc:CipherData><enc:CipherReference URI=\"OEBPS/one.xhtml\"/>"
                   "</enc:CipherData></enc:EncryptedData></encryption>";
        };
        ZipEntries drm = good;
        drm.push_back(
            {"META-INF/encryption.xml", encryption("http://www.w3.org/2001/04/xmlenc#aes128-cbc")});
        error = epub_error("drm.epub", drm);
        QVERIFY2(error.contains("this EPUB is encrypted (DRM)"), qPrintable(error));
        // Obfuscated fonts are not DRM: the book reads.
        ZipEntries fonts = good;
        fonts.push_back(
            {"META-INF/encryption.xml", encryption("http://www.idpf.org/2008/embedding")});
        QCOMPARE(epub_error("fonts.epub", fonts), QString());
    }

    // Pages in order, separated by a blank line; a page without text adds nothing. A PDF is
    // known by its header, whatever the file's name.
    void pdfTextLayer() {
        const QByteArray pdf = B(testing::pdf_bytes(
            {"The door code is 4821.\nRemember it.", "", "Page three (the last) \\ done."}));
        const std::string want =
            "The door code is 4821.\nRemember it.\n\nPage three (the last) \\ done.";
        const Document d = load_text_document(write("letter.pdf", pdf));
        QCOMPARE(B(d.text), B(want));
        QVERIFY(!d.had_invalid_utf8);
        QCOMPARE(B(load_text_document(write("letter.download", pdf)).text), B(want));
    }

    void pdfErrors() {
        QString error =
            error_of([&] { load_text_document(write("fake.pdf", "just some text, no PDF")); });
        QVERIFY2(error.contains("is not a PDF"), qPrintable(error));
        error =
            error_of([&] { load_text_document(write("scan.pdf", B(testing::pdf_bytes({""})))); });
        QVERIFY2(error.contains("this PDF has no text layer (scanned?)"), qPrintable(error));
        error = error_of([&] {
            load_text_document(write("garbage.pdf", "%PDF-1.4\nnothing else of a PDF here\n"));
        });
        QVERIFY2(error.contains("damaged PDF"), qPrintable(error));
        // Standard security with a user password: the empty password does not match /U.
        testing::PdfOptions locked;
        locked.extra_objects = {"<< /Filter /Standard /V 1 /R 2 /P -44 /O <" +
                                std::string(64, 'a') + "> /U <" + std::string(64, '5') + "> >>"};
        locked.trailer_extra =
            "/Encrypt 6 0 R /ID [<00112233445566778899aabbccddeeff> "
            "<00112233445566778899aabbccddeeff>]";
        error = error_of([&] {
            load_text_document(write("secret.pdf", B(testing::pdf_bytes({"hidden"}, locked))));
        });
        QVERIFY2(error.contains("encrypted PDF") && error.contains("password"), qPrintable(error));
    }

    void htmlEntitiesEdgeCases() {
        const QByteArray r(kReplacement);
        QCOMPARE(B(html_to_text("&#0;|&#xD800;|&#x110000;|&#xZZ;|&#99999999;")),
                 r + "|" + r + "|" + r + "|" + r + "|" + r);
        QCOMPARE(B(html_to_text("&#x10FFFF;")), QByteArray("\xF4\x8F\xBF\xBF"));
        QCOMPARE(B(html_to_text("&#127;&#128;&#2047;&#2048;")),
                 QByteArray("\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80"));
        QCOMPARE(B(html_to_text("AT&amp;T &unknown; a&b")), QByteArray("AT&T &unknown; a&b"));
        QCOMPARE(B(html_to_text("a&nbsp;b")), QByteArray("a b"));
        QCOMPARE(B(html_to_text("  spaces \n\t around  ")), QByteArray("spaces around"));
        QCOMPARE(B(html_to_text("<p>a</p><p>b</p><p>c</p>")), QByteArray("a\nb\nc"));
        QCOMPARE(B(html_to_text("")), QByteArray());
        QCOMPARE(B(html_to_text("<!-- unterminated comment <p>x</p>")), QByteArray());
        QCOMPARE(B(html_to_text("<style>unterminated")), QByteArray());
    }

    void htmlTableCellsStaySeparate() {
        // Adjacent cells are separate words on the page; gluing them ("1cell") changes the text.
        const QString text = QString::fromStdString(html_to_text(
            "<table><tr><td>cell 1</td><td>cell 2</td></tr><tr><th>a</th><th>b</th></tr></table>"));
        const QStringList words = text.simplified().split(' ');
        QCOMPARE(words, QStringList({"cell", "1", "cell", "2", "a", "b"}));
    }

    void htmlLessThanInTextIsKept() {
        // A '<' that does not start a tag (followed by a space) is text, as browsers show it;
        // it must not swallow the text up to the next '>' or the rest of the page.
        QCOMPARE(B(html_to_text("<p>if a < b then c</p><p>more</p>")),
                 QByteArray("if a < b then c\nmore"));
        QCOMPARE(B(html_to_text("x < y and z")), QByteArray("x < y and z"));
    }
};

QTEST_APPLESS_MAIN(TestDocument)
#include "tst_document.moc"
