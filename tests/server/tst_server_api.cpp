// The server's request reading and stop strings, without a model: what the OpenAI fields become
// (chat_request.h) and how a stop string is found across streamed pieces (stop_sequences.h).
#include <QtTest>

#include "chat_request.h"
#include "stop_sequences.h"

using namespace server;

class TestServerApi : public QObject {
    Q_OBJECT
  private slots:
    void messagesBecomeAConversation() {
        const ChatRequest r = parse_chat_request(R"({"model": "any", "messages": [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": "Q1"},
            {"role": "assistant", "content": "A1"},
            {"role": "user", "content": [{"type": "text", "text": "Q2a"},
                                         {"type": "text", "text": "Q2b"}]}]})");
        QCOMPARE(r.system, std::string("Be brief."));
        QCOMPARE(r.earlier.size(), size_t(1));
        QCOMPARE(r.earlier[0].question, std::string("Q1"));
        QCOMPARE(r.earlier[0].answer, std::string("A1"));
        QCOMPARE(r.question, std::string("Q2a\nQ2b"));
        QVERIFY(!r.stream);
        QVERIFY(r.self_extend.kind == SelfExtendChoice::Kind::Auto);
    }

    void samplingFieldsAreHonoured() {
        const ChatRequest r = parse_chat_request(
            R"({"messages": [{"role": "user", "content": "x"}], "temperature": 0.7,
                "top_p": 0.9, "seed": 42, "max_completion_tokens": 100, "stop": ["END", "\n\n"],
                "stream": true, "stream_options": {"include_usage": true},
                "self_extend": {"group": 4, "window": 2048}, "document": "doc-1",
                "presence_penalty": 0, "user": "u", "anything_else": [1, 2]})");
        QCOMPARE(r.sampling.temperature, 0.7f);
        QCOMPARE(r.sampling.top_p, 0.9f);
        QCOMPARE(r.sampling.seed, uint64_t(42));
        QVERIFY(r.sampling_given);
        QCOMPARE(*r.max_tokens, 100);
        QCOMPARE(r.stop, (std::vector<std::string>{"END", "\n\n"}));
        QVERIFY(r.stream && r.include_usage);
        QVERIFY(r.self_extend.kind == SelfExtendChoice::Kind::Given);
        QCOMPARE(r.self_extend.mode, selfextend::AttentionMode::self_extend(4, 2048));
        QCOMPARE(r.document_id, std::string("doc-1"));
        QVERIFY(parse_chat_request(R"({"messages": [{"role": "user", "content": "x"}],
                                      "self_extend": "off"})")
                    .self_extend.kind == SelfExtendChoice::Kind::Off);
    }

    void unsupportedAndInvalidAreRefused() {
        const auto refused = [](const char* body, const char* param) {
            try {
                parse_chat_request(body);
            } catch (const ApiError& e) {
                return e.status == 400 && e.param == param;
            }
            return false;
        };
        const char* user = R"("messages": [{"role": "user", "content": "x"}])";
        QVERIFY(refused(qPrintable(QString("{%1, \"n\": 2}").arg(user)), "n"));
        QVERIFY(refused(qPrintable(QString("{%1, \"tools\": [{}]}").arg(user)), "tools"));
        QVERIFY(refused(qPrintable(QString("{%1, \"logprobs\": true}").arg(user)), "logprobs"));
        QVERIFY(refused(qPrintable(QString("{%1, \"temperature\": 3}").arg(user)), "temperature"));
        QVERIFY(refused(qPrintable(QString("{%1, \"max_tokens\": 0}").arg(user)), "max_tokens"));
        QVERIFY(refused(
            qPrintable(QString("{%1, \"stop\": [\"a\",\"b\",\"c\",\"d\",\"e\"]}").arg(user)),
            "stop"));
        QVERIFY(refused(R"({"messages": [{"role": "user", "content": "a"},
                                          {"role": "user", "content": "b"}]})",
                        "messages[1]"));
        QVERIFY(refused(R"({"messages": [{"role": "user", "content": "a"},
                                          {"role": "assistant", "content": "b"}]})",
                        "messages"));
        QVERIFY(refused(R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})",
                        "messages[0].content"));
        // Explicitly off is fine.
        parse_chat_request(
            qPrintable(QString("{%1, \"n\": 1, \"tools\": [], \"logprobs\": false}").arg(user)));
    }

    void stopStringsAcrossPieces() {
        StopSequences stops({"END", "\n\n"});
        QCOMPARE(stops.push("The code is 4"), std::string("The code is 4"));
        QCOMPARE(stops.push("821.E"), std::string("821."));  // "E" may begin "END": held
        QCOMPARE(stops.push("ach"), std::string("Each"));    // it did not
        QCOMPARE(stops.push(" more.\n"), std::string(" more."));
        QCOMPARE(stops.push("\nNext"), std::string());  // "\n\n": the answer ends before it
        QVERIFY(stops.stopped());
        QCOMPARE(stops.push("more"), std::string());
        QCOMPARE(stops.flush(), std::string());

        StopSequences none({"###"});
        QCOMPARE(none.push("a #"), std::string("a "));
        QCOMPARE(none.flush(), std::string("#"));  // no stop string met: the held tail is shown
        QVERIFY(!none.stopped());
    }
};

QTEST_GUILESS_MAIN(TestServerApi)
#include "tst_server_api.moc"
