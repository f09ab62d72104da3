import QSSLCore
