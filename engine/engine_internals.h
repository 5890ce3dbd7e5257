// The engine's own access to what the public header keeps private in a Model and a Session (their
// Impl): one friend for the backends, the disk cache and the evaluation code, instead of public
// accessors that every user of engine.h could call.
#pragma once

#include <utility>

#include "model/model_impl.h"
#include "selfextend/engine.h"
#include "session_impl.h"

namespace selfextend::detail {

struct Internals {
    using ModelImpl = Model::Impl;
    using SessionImpl = Session::Impl;

    static const ModelImpl& of(const Model& model) { return *model.impl_; }
    static SessionImpl& of(Session& session) { return *session.impl_; }
    static const SessionImpl& of(const Session& session) { return *session.impl_; }

    // Sets the observer of the session's backend (BackendSession::observe_layers); false when
    // the backend cannot observe its layers.
    static bool observe_layers(Session& s, detail::BackendSession::LayerObserver o) {
        return of(s).backend->observe_layers(std::move(o));
    }
};

}  // namespace selfextend::detail
