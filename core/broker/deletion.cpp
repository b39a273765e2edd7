// Broker: DeleteTopics. See "DeleteTopics" in broker.h for the protocol; the
// phases of one deletion run in order:
//   marking, marking_sync  create "<topic>.deleting" and fsync the directory
//   draining               the topic's logs finish their in-flight I/O
//   listing, removing      list the directory, remove every file of the topic
//   syncing                fsync the directory
//   unmarking              remove the marker; the DeleteTopics is answered
// A failed step is issued again (a failed removal lists again), so a deletion
// always finishes once the disk works.
#include <algorithm>

#include "core/broker/broker.h"
#include "net/kafka/api.h"

namespace samsa::broker {

namespace {

std::string marker_name(const std::string& topic) {
    return topic + ".deleting";
}

}  // namespace

// Whether `name` is a file of some partition of `topic`: "<topic>-<p>-" then
// a segment, index or epoch checkpoint name.
bool topic_owns_file(const std::string& topic, const std::string& name) {
    const std::string head = topic + "-";
    if (name.size() <= head.size() || name.compare(0, head.size(), head) != 0) return false;
    std::size_t at = head.size();
    while (at < name.size() && name[at] >= '0' && name[at] <= '9') ++at;
    if (at == head.size() || at >= name.size() || name[at] != '-' || at - head.size() > 9) {
        return false;
    }
    return log::PartitionLog::owns_file(name.substr(0, at + 1), name);
}

std::optional<std::string> deleting_topic_of(const std::string& name) {
    const std::string suffix = ".deleting";
    if (name.size() <= suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
        return std::nullopt;
    }
    return name.substr(0, name.size() - suffix.size());
}

bool Broker::being_deleted(const std::string& topic) const {
    return std::any_of(deletions_.begin(), deletions_.end(),
                       [&](const Deletion& d) { return d.topic == topic; });
}

void Broker::on_delete_topics(const io::ClientRequest& request, std::int32_t correlation_id,
                              std::int16_t version, const kafka::DeleteTopicsRequest& body,
                              io::Outbox& out) {
    PendingDelete pending{request.client, request.sequence, correlation_id, version, {}, {}};
    std::map<std::string, int> mentions;
    for (const auto& name : body.topic_names) ++mentions[name];
    for (const auto& name : body.topic_names) {
        std::int16_t error = 0;
        if (mentions[name] > 1) {
            error = kInvalidRequest;
        } else if (name == kOffsetsTopic) {
            error = kInvalidTopic;  // the groups' internal topic stays
        } else if (const auto found = topics_.find(name); found != topics_.end()) {
            std::vector<Partition> partitions = std::move(found->second.partitions);
            topics_.erase(found);
            partition_count_ -= partitions.size();
            start_deletion(name, std::move(partitions), false, out);
            pending.waiting.push_back(name);
        } else if (being_deleted(name)) {
            pending.waiting.push_back(name);  // answered when that deletion finishes
        } else {
            error = kUnknownTopicOrPartition;
        }
        pending.results.emplace_back(name, error);
    }
    deletes_.push_back(std::move(pending));
    answer_finished_deletes(out);
}

void Broker::start_deletion(const std::string& topic, std::vector<Partition> partitions,
                            bool marked, io::Outbox& out) {
    Deletion& deletion = deletions_.emplace_back();
    deletion.topic = topic;
    deletion.partitions = std::move(partitions);
    deletion.phase = marked ? Deletion::Phase::draining : Deletion::Phase::marking;
    deletion_step(deletion, out);
}

void Broker::deletion_step(Deletion& deletion, io::Outbox& out) {
    using Phase = Deletion::Phase;
    const auto issue = [&](auto effect) {
        deletion.tokens.insert(effect.token.value());
        out.push(std::move(effect));
    };
    switch (deletion.phase) {
        case Phase::marking: {
            const FileId file = next_file();
            issue(io::Open{next_token(), file, marker_name(deletion.topic), true, false, false, 0});
            out.push(io::Close{file});
            return;
        }
        case Phase::marking_sync:
        case Phase::syncing: return issue(io::SyncDir{next_token()});
        case Phase::draining: {
            const bool quiet = std::all_of(deletion.partitions.begin(), deletion.partitions.end(),
                                           [](const Partition& p) { return p.log->quiet(); });
            if (!quiet) return;  // advance_deletions() looks again after every event
            for (auto& partition : deletion.partitions) {
                partition.log->close_files(out);
                by_component_.erase(partition.log->component());
                std::erase(touched_, &partition);
            }
            deletion.partitions.clear();
            deletion.phase = Phase::listing;
            return deletion_step(deletion, out);
        }
        case Phase::listing: deletion.failed = false; return issue(io::List{next_token()});
        case Phase::removing: return;  // issued with the listing's answer
        case Phase::unmarking: return issue(io::Remove{next_token(), marker_name(deletion.topic)});
    }
}

void Broker::advance_deletions(io::Outbox& out) {
    for (auto& deletion : deletions_) {
        if (deletion.phase == Deletion::Phase::draining) deletion_step(deletion, out);
    }
}

void Broker::on_deletion_io(const io::IoCompleted& done, io::Outbox& out) {
    using Phase = Deletion::Phase;
    const auto found = std::find_if(deletions_.begin(), deletions_.end(), [&](const Deletion& d) {
        return d.tokens.contains(done.token.value());
    });
    if (found == deletions_.end()) return;  // e.g. an old producer-id block removed
    Deletion& deletion = *found;
    deletion.tokens.erase(done.token.value());
    const bool ok = done.status == io::IoStatus::ok;
    switch (deletion.phase) {
        case Phase::marking:
            if (ok) deletion.phase = Phase::marking_sync;
            return deletion_step(deletion, out);
        case Phase::marking_sync:
            if (ok) deletion.phase = Phase::draining;
            return deletion_step(deletion, out);
        case Phase::draining: return;  // not reached: draining issues no I/O
        case Phase::listing: {
            if (!ok) return deletion_step(deletion, out);
            deletion.phase = Phase::removing;
            for (const auto& name : done.names) {
                if (!topic_owns_file(deletion.topic, name)) continue;
                const IoToken token = next_token();
                deletion.tokens.insert(token.value());
                out.push(io::Remove{token, name});
            }
            break;  // with nothing to remove, on to syncing below
        }
        case Phase::removing:
            if (!ok && done.status != io::IoStatus::not_found) deletion.failed = true;
            break;
        case Phase::syncing:
            if (ok) deletion.phase = Phase::unmarking;
            return deletion_step(deletion, out);
        case Phase::unmarking:
            if (!ok && done.status != io::IoStatus::not_found) return deletion_step(deletion, out);
            deletions_.erase(found);
            return answer_finished_deletes(out);
    }
    if (deletion.phase == Phase::removing && deletion.tokens.empty()) {
        deletion.phase = deletion.failed ? Phase::listing : Phase::syncing;
        deletion_step(deletion, out);
    }
}

void Broker::answer_finished_deletes(io::Outbox& out) {
    for (auto it = deletes_.begin(); it != deletes_.end();) {
        std::erase_if(it->waiting, [&](const std::string& name) { return !being_deleted(name); });
        if (!it->waiting.empty()) {
            ++it;
            continue;
        }
        kafka::DeleteTopicsResponse answer;
        for (const auto& [name, error] : it->results) answer.responses.push_back({name, error});
        reply(it->client, it->sequence,
              kafka::encode_response(it->correlation_id, it->version, answer), out);
        it = deletes_.erase(it);
    }
}

}  // namespace samsa::broker
