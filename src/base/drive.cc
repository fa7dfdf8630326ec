#include "base/drive.h"

#include "base/validate.h"

namespace boxcall {

void Driver::feed(const Input& record) {
  ++stats_.records;
  if (auto err = validate(record)) {
    ++stats_.invalid;
    if (on_reject_) on_reject_(record, *err);
    return;
  }
  DeliveryLedger::Car& car = ledger_.car(std::visit([](const auto& r) { return r.car; }, record));
  if (ledger_.repeats(car, record)) {
    ++stats_.duplicates;
    return;
  }
  auto result = handler_.on_record(record, /*late=*/false, out_);
  if (!result) {
    ++stats_.rejected;
    if (on_reject_) on_reject_(record, result.error());
    return;
  }
  if (result.value() == Applied::Duplicate) {
    ++stats_.duplicates;
    return;
  }
  if (const auto* s = std::get_if<TelemetrySample>(&record)) DeliveryLedger::handed_over(car, *s);
  ++stats_.applied;
}

}  // namespace boxcall
