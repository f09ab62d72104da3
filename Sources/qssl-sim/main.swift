import QSSLSim
