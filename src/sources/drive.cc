#include "sources/drive.h"

namespace boxcall::sources {

DriveStats drive(RecordSource& source, SessionHandler& handler, OutputSink& out, const RejectHandler& on_reject) {
  Driver driver(handler, out, on_reject);
  while (auto record = source.next()) driver.feed(*record);
  return driver.stats();
}

}  // namespace boxcall::sources
