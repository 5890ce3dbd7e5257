#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "selfextend/error.h"

namespace selfextend {

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {
    if (params.top_k < 0) throw Error("top-k must not be negative");
    if (!(params.top_p > 0.0f && params.top_p <= 1.0f)) throw Error("top-p must be in (0, 1]");
    if (!(params.min_p >= 0.0f && params.min_p < 1.0f)) throw Error("min-p must be in [0, 1)");
    if (!(params.repeat_penalty > 0.0f)) throw Error("repetition penalty must be positive");
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
    const int32_t vocab = int32_t(logits.size());
    candidates_.resize(size_t(vocab));
    if (vocab == 0) throw Error("sampler: no logits");
    // NaN would break the ordering below: it ranks as the least likely.
    for (int32_t id = 0; id < vocab; ++id) {
        const float logit = logits[size_t(id)];
        candidates_[size_t(id)] = {std::isnan(logit) ? -INFINITY : logit, id};
    }

    if (params_.repeat_penalty != 1.0f && params_.repeat_last_n > 0) {
        const size_t from = history.size() > size_t(params_.repeat_last_n)
                                ? history.size() - size_t(params_.repeat_last_n)
                                : 0;
        const std::unordered_set<int32_t> recent(history.begin() + std::ptrdiff_t(from),
                                                 history.end());
        for (const int32_t id : recent) {
            if (id < 0 || id >= vocab) continue;
            float& logit = candidates_[size_t(id)].first;
            logit = logit > 0 ? logit / params_.repeat_penalty : logit * params_.repeat_penalty;
        }
    }

    auto by_logit = [](const auto& a, const auto& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
    };
    if (params_.temperature <= 0.0f)
        return std::min_element(candidates_.begin(), candidates_.end(), by_logit)->second;

    size_t keep = candidates_.size();
    if (params_.top_k > 0) keep = std::min(keep, size_t(params_.top_k));
    std::partial_sort(candidates_.begin(), candidates_.begin() + std::ptrdiff_t(keep),
                      candidates_.end(), by_logit);
    candidates_.resize(keep);

    // Softmax at the temperature, over the kept candidates (sorted, largest first). Without a
    // finite best logit (all -inf, or +inf) there is no distribution: take the best candidate.
    const float top = candidates_[0].first;
    if (!std::isfinite(top)) return candidates_[0].second;
    std::vector<double> probability(keep);
    double total = 0;
    for (size_t k = 0; k < keep; ++k) {
        probability[k] = std::exp(double(candidates_[k].first - top) / params_.temperature);
        total += probability[k];
    }
    for (double& p : probability) p /= total;

    size_t cut = keep;
    if (params_.min_p > 0.0f) {  // drop tokens less likely than min_p times the best one
        cut = 1;
        while (cut < keep && probability[cut] >= params_.min_p * probability[0]) ++cut;
    }
    if (params_.top_p < 1.0f) {  // smallest prefix whose mass reaches top_p
        double mass = 0;
        for (size_t k = 0; k < cut; ++k) {
            mass += probability[k];
            if (mass >= params_.top_p) {
                cut = k + 1;
                break;
            }
        }
    }
    std::discrete_distribution<size_t> pick(probability.begin(),
                                            probability.begin() + std::ptrdiff_t(cut));
    return candidates_[pick(rng_)].second;
}

}  // namespace selfextend
